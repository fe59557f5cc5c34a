package io.vrdma.transport.security;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.List;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts a connection's byte stream into AES-256-GCM records and back, with the JDK's {@code javax.crypto}
 * (AES-NI and carry-less multiply intrinsics on x86-64 and aarch64). A record is
 * {@code [int n][n bytes: ciphertext ‖ 16-byte tag]} of at most {@link #RECORD_BYTES} plaintext bytes; its
 * 12-byte nonce is the direction's record counter, never sent, so a record dropped, repeated, reordered or
 * moved to another connection (other keys) fails its tag. Each direction has its own key ({@link SessionKeys}),
 * so the counters of the two directions never share a key.
 *
 * <p>Encryption and decryption run on the channel's event loop, as Netty's {@code SslHandler} does its TLS
 * records: it is a pass over the bytes with the CPU's AES instructions (about 1-3 GB/s per core), the price of
 * not sending plaintext. A record that fails authentication, or a length outside the record bounds, closes
 * the connection (the pipeline's last handler logs one line).
 */
public final class AesGcmCodec {
  /** Largest plaintext of one record. */
  public static final int RECORD_BYTES = 64 * 1024;
  /** Bytes of a GCM tag. */
  public static final int TAG_BYTES = 16;
  private static final int HEADER_BYTES = Integer.BYTES;
  /** Pipeline name of the decoder (records in, plaintext out). */
  public static final String DECODER = "vrdma-gcm-decoder";
  /** Pipeline name of the encoder (plaintext in, records out). */
  public static final String ENCODER = "vrdma-gcm-encoder";

  private AesGcmCodec() {}

  /**
   * Puts the decoder and encoder first in the pipeline (next to the socket), so every byte in or out from
   * now on is a record. Call it on the channel's event loop, at a point where neither side has bytes of the
   * other kind in flight (the block layer switches right after the answer to the proof of the secret, and the
   * client sends nothing in between).
   */
  public static void install(ChannelPipeline pipeline, SessionKeys keys, boolean clientSide) {
    byte[] sendKey = clientSide ? keys.clientToServer() : keys.serverToClient();
    byte[] receiveKey = clientSide ? keys.serverToClient() : keys.clientToServer();
    pipeline.addFirst(ENCODER, new Encoder(sendKey));
    pipeline.addFirst(DECODER, new Decoder(receiveKey));
  }

  /** Whether the pipeline encrypts. */
  public static boolean installed(ChannelPipeline pipeline) {
    return pipeline.get(ENCODER) != null;
  }

  private static Cipher cipher() {
    try {
      return Cipher.getInstance("AES/GCM/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES/GCM/NoPadding unavailable in this JVM", e);
    }
  }

  private static GCMParameterSpec nonce(long counter) {
    byte[] iv = new byte[12];
    for (int i = 0; i < Long.BYTES; i++) {
      iv[4 + i] = (byte) (counter >>> (56 - 8 * i));
    }
    return new GCMParameterSpec(TAG_BYTES * 8, iv);
  }

  /** Plaintext ByteBufs in, records out. Anything else (a FileRegion) is refused: it would go out in plaintext. */
  static final class Encoder extends ChannelOutboundHandlerAdapter {
    private final SecretKeySpec key;
    private final Cipher cipher = cipher();
    private long counter;

    Encoder(byte[] key) {
      this.key = new SecretKeySpec(key, "AES");
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (!(msg instanceof ByteBuf in)) {
        ReferenceCountUtil.release(msg);
        promise.setFailure(new IllegalStateException("an encrypted connection cannot send a "
            + msg.getClass().getSimpleName() + " (zero-copy file regions are plaintext)"));
        return;
      }
      try {
        int n = in.readableBytes();
        if (n == 0) {
          ctx.write(in.retain(), promise);
          return;
        }
        int records = (n + RECORD_BYTES - 1) / RECORD_BYTES;
        ByteBuf out = ctx.alloc().heapBuffer(n + records * (HEADER_BYTES + TAG_BYTES));
        try {
          while (in.isReadable()) {
            int chunk = Math.min(RECORD_BYTES, in.readableBytes());
            out.writeInt(chunk + TAG_BYTES);
            ByteBuffer dst = out.nioBuffer(out.writerIndex(), chunk + TAG_BYTES);
            cipher.init(Cipher.ENCRYPT_MODE, key, nonce(counter++));
            int written = cipher.doFinal(in.nioBuffer(in.readerIndex(), chunk), dst);
            in.skipBytes(chunk);
            out.writerIndex(out.writerIndex() + written);
          }
        } catch (GeneralSecurityException | RuntimeException e) {
          out.release();
          promise.setFailure(e);
          ctx.close();
          return;
        }
        ctx.write(out, promise);
      } finally {
        in.release();
      }
    }
  }

  /** A record that cannot be decrypted: the connection closes with this one-line reason. */
  public static final class RecordException extends DecoderException {
    private static final long serialVersionUID = 1L;

    RecordException(String message) {
      super(message);
    }
  }

  /** Records in, plaintext ByteBufs out, each only after its tag checked. */
  static final class Decoder extends ByteToMessageDecoder {
    private final SecretKeySpec key;
    private final Cipher cipher = cipher();
    private long counter;
    private boolean failed;

    Decoder(byte[] key) {
      this.key = new SecretKeySpec(key, "AES");
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
      if (failed) {
        // the stream is broken for good (the connection is closing): nothing after a bad record is trusted
        in.skipBytes(in.readableBytes());
        return;
      }
      while (in.readableBytes() >= HEADER_BYTES) {
        int length = in.getInt(in.readerIndex());
        if (length <= TAG_BYTES || length > RECORD_BYTES + TAG_BYTES) {
          failed = true;
          throw new RecordException("encrypted record of " + length + " bytes (expected "
              + (TAG_BYTES + 1) + ".." + (RECORD_BYTES + TAG_BYTES) + "): the peer does not encrypt, or not with us");
        }
        if (in.readableBytes() < HEADER_BYTES + length) {
          return;
        }
        ByteBuf plain = ctx.alloc().heapBuffer(length - TAG_BYTES);
        try {
          cipher.init(Cipher.DECRYPT_MODE, key, nonce(counter++));
          int n = cipher.doFinal(in.nioBuffer(in.readerIndex() + HEADER_BYTES, length),
              plain.nioBuffer(0, length - TAG_BYTES));
          plain.writerIndex(n);
        } catch (AEADBadTagException e) {
          plain.release();
          failed = true;
          throw new RecordException("encrypted record " + (counter - 1) + " failed authentication: wrong key,"
              + " or altered, replayed or reordered on the wire");
        } catch (GeneralSecurityException | RuntimeException e) {
          plain.release();
          throw e;
        }
        in.skipBytes(HEADER_BYTES + length);
        out.add(plain);
      }
    }
  }
}
