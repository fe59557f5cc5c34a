package io.vrdma.transport.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Records between two pipelines: intact round trips, ciphertext unlike the plaintext, tampering caught. */
class AesGcmCodecTest {
  private static final SessionKeys KEYS = SessionKeys.derive(new byte[] {1, 2, 3}, SessionKeys.newNonce(),
      SessionKeys.newNonce(), "ns");

  @TempDir
  Path dir;

  private static EmbeddedChannel endpoint(boolean client) {
    EmbeddedChannel ch = new EmbeddedChannel();
    AesGcmCodec.install(ch.pipeline(), KEYS, client);
    return ch;
  }

  /** Everything the channel wrote to its socket. */
  private static byte[] wire(EmbeddedChannel ch) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuf b;
    while ((b = ch.readOutbound()) != null) {
      byte[] bytes = new byte[b.readableBytes()];
      b.readBytes(bytes);
      out.writeBytes(bytes);
      b.release();
    }
    return out.toByteArray();
  }

  private static byte[] received(EmbeddedChannel ch) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuf b;
    while ((b = ch.readInbound()) != null) {
      byte[] bytes = new byte[b.readableBytes()];
      b.readBytes(bytes);
      out.writeBytes(bytes);
      b.release();
    }
    return out.toByteArray();
  }

  @Test
  void messagesOfAnySizeArriveIntactFedInOddPieces() {
    EmbeddedChannel client = endpoint(true);
    EmbeddedChannel server = endpoint(false);
    Random random = new Random(5);
    ByteArrayOutputStream sent = new ByteArrayOutputStream();
    for (int size : new int[] {1, 13, AesGcmCodec.RECORD_BYTES - 1, AesGcmCodec.RECORD_BYTES,
        AesGcmCodec.RECORD_BYTES + 1, 3 * AesGcmCodec.RECORD_BYTES + 7, 1 << 20}) {
      byte[] m = new byte[size];
      random.nextBytes(m);
      sent.writeBytes(m);
      client.writeOutbound(Unpooled.wrappedBuffer(m));
    }
    byte[] wire = wire(client);
    for (int i = 0; i < wire.length; ) {
      int n = Math.min(wire.length - i, 1 + random.nextInt(100_000));
      server.writeInbound(Unpooled.wrappedBuffer(wire, i, n));
      i += n;
    }
    assertArrayEquals(sent.toByteArray(), received(server));
    assertFalse(client.finishAndReleaseAll());
    assertFalse(server.finishAndReleaseAll());
  }

  @Test
  void ciphertextDoesNotContainThePlaintext() {
    EmbeddedChannel client = endpoint(true);
    byte[] m = new byte[4096];
    java.util.Arrays.fill(m, (byte) 'A');
    client.writeOutbound(Unpooled.wrappedBuffer(m));
    byte[] wire = wire(client);
    assertEquals(m.length + 4 + AesGcmCodec.TAG_BYTES, wire.length);
    int longestRun = 0;
    int run = 0;
    for (byte b : wire) {
      run = b == 'A' ? run + 1 : 0;
      longestRun = Math.max(longestRun, run);
    }
    assertTrue(longestRun < 8, "a run of " + longestRun + " plaintext bytes in the ciphertext");
    client.finishAndReleaseAll();
  }

  @Test
  void alteredRecordFailsItsTagAndNothingAfterItIsDelivered() {
    EmbeddedChannel client = endpoint(true);
    EmbeddedChannel server = endpoint(false);
    client.writeOutbound(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}), Unpooled.wrappedBuffer(new byte[] {4, 5, 6}));
    byte[] wire = wire(client);
    wire[6] ^= 1; // inside the first record's ciphertext
    DecoderException e = assertThrows(DecoderException.class, () -> server.writeInbound(Unpooled.wrappedBuffer(wire)));
    assertInstanceOf(AesGcmCodec.RecordException.class, e);
    assertEquals(0, received(server).length);
    client.finishAndReleaseAll();
    server.finishAndReleaseAll();
  }

  @Test
  void replayedOrReorderedRecordFailsItsTag() {
    EmbeddedChannel client = endpoint(true);
    EmbeddedChannel server = endpoint(false);
    client.writeOutbound(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
    byte[] first = wire(client);
    server.writeInbound(Unpooled.wrappedBuffer(first));
    assertArrayEquals(new byte[] {1, 2, 3}, received(server));
    assertThrows(DecoderException.class, () -> server.writeInbound(Unpooled.wrappedBuffer(first)));
    client.finishAndReleaseAll();
    server.finishAndReleaseAll();
  }

  @Test
  void recordFromTheOtherDirectionFailsItsTag() {
    EmbeddedChannel client = endpoint(true);
    EmbeddedChannel otherClient = endpoint(true);
    client.writeOutbound(Unpooled.wrappedBuffer(new byte[] {9}));
    // a client's own record reflected back at it: the directions have different keys
    assertThrows(DecoderException.class, () -> otherClient.writeInbound(Unpooled.wrappedBuffer(wire(client))));
    client.finishAndReleaseAll();
    otherClient.finishAndReleaseAll();
  }

  @Test
  void plaintextPeerIsRefusedByTheRecordLength() {
    EmbeddedChannel server = endpoint(false);
    // a plaintext frame header [int length = 0x7fffffff]... is no record
    assertThrows(AesGcmCodec.RecordException.class,
        () -> server.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x7f, -1, -1, -1, 1, 2, 3})));
    server.finishAndReleaseAll();
  }

  @Test
  void zeroCopyFileRegionIsRefusedNotSentInPlaintext() throws Exception {
    EmbeddedChannel client = endpoint(true);
    File f = Files.write(dir.resolve("f"), new byte[] {1, 2, 3}).toFile();
    ChannelFuture sent = client.writeAndFlush(new DefaultFileRegion(f, 0, 3));
    assertFalse(sent.isSuccess());
    assertEquals(0, wire(client).length);
    client.finishAndReleaseAll();
  }
}
