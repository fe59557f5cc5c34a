package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockException.AuthenticationException;
import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.CapturingRelay;
import io.vrdma.transport.testing.Patterns;
import io.vrdma.transport.testing.ShmArenas;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * With {@code vrdma.transport.encryption.required}, blocks cross the wire only as AES-GCM records: a wiretap
 * between client and server (a relay in this JVM recording every byte) finds no 64-byte run of any block, while
 * the same fetch without encryption shows the blocks in the clear. Refusals (wrong secret, a peer that does not
 * encrypt, no secret at all) fail the blocks with one clear reason, and the server serves on.
 */
@Timeout(120)
class EncryptedTransferTest {
  private static final String NS = "app-1/shuffle-0";
  private static final byte[] SECRET = "the-app-secret".getBytes(StandardCharsets.UTF_8);
  private static final long SEED = 77;
  private static final long[] SIZES = {1 << 20, 3, 0, 70_001, (64 << 10) + 5, 200_000};
  private static final int WINDOW = 64;

  @TempDir
  Path dir;

  private BlockFixture fixture(String tiers, boolean serverEncrypts, boolean clientEncrypts) throws Exception {
    Path arena = ShmArenas.newArenaPath(dir);
    Map<String, String> server = settings(arena, tiers, serverEncrypts);
    Map<String, String> client = settings(arena, tiers, clientEncrypts);
    BlockFixture f = new BlockFixture(dir, server, client, true);
    f.server.createNamespace(NS, SECRET);
    return f;
  }

  private static Map<String, String> settings(Path arena, String tiers, boolean encrypt) {
    Map<String, String> s = new HashMap<>(BlockFixture.settings(arena, tiers));
    s.put(TransportConf.ENCRYPTION_REQUIRED.name(), Boolean.toString(encrypt));
    s.put(BlockConf.MAX_RETRIES.name(), "1");
    return s;
  }

  private static byte[] patternBytes(long total) {
    byte[] all = new byte[(int) total];
    for (int i = 0; i < all.length; i++) {
      all[i] = Patterns.byteAt(SEED, i);
    }
    return all;
  }

  private static Collector fetchThrough(BlockFixture f, int port, byte[] secret, List<String> ids) throws Exception {
    Collector c = new Collector();
    f.client.fetch("127.0.0.1", port, NS, secret, ids, c).get(60, TimeUnit.SECONDS);
    return c;
  }

  private static void assertIntact(Collector c, List<String> ids) {
    assertTrue(c.failures.isEmpty(), () -> "failures: " + c.failures);
    assertTrue(c.eachReportedOnce(ids.size()), () -> "reports: " + c.calls);
    for (int i = 0; i < ids.size(); i++) {
      ByteBuffer bytes = c.blocks.get(ids.get(i));
      assertEquals(SIZES[i], bytes.remaining(), ids.get(i));
      assertNull(Patterns.mismatch(SEED, BlockFixture.offsetOf(SIZES, i), bytes, 0, (int) SIZES[i]), ids.get(i));
    }
  }

  @Test
  void encryptedTcpFetchLeavesNoBlockPlaintextOnTheWire() throws Exception {
    try (BlockFixture f = fixture("tcp", true, true);
        CapturingRelay relay = new CapturingRelay("127.0.0.1", f.serverNode.advertisement().port())) {
      List<String> ids = f.publish(NS, "b", SEED, SIZES);
      Collector c = fetchThrough(f, relay.port(), SECRET, ids);
      assertIntact(c, ids);
      long total = Arrays.stream(SIZES).sum();
      assertEquals(total, f.client.metrics().bytes(Tier.TCP), f.client.metrics().toString());
      byte[] wire = relay.captured();
      assertTrue(wire.length > total, "the relay saw " + wire.length + " bytes, fewer than the blocks' " + total);
      assertEquals(-1, CapturingRelay.findAnyWindow(patternBytes(total), wire, WINDOW),
          "a 64-byte run of block bytes crossed the wire in plaintext");
    }
  }

  @Test
  void unencryptedTcpFetchShowsBlockPlaintextOnTheWire() throws Exception {
    try (BlockFixture f = fixture("tcp", false, false);
        CapturingRelay relay = new CapturingRelay("127.0.0.1", f.serverNode.advertisement().port())) {
      List<String> ids = f.publish(NS, "b", SEED, SIZES);
      assertIntact(fetchThrough(f, relay.port(), SECRET, ids), ids);
      long total = Arrays.stream(SIZES).sum();
      // the wiretap does see plaintext when nothing encrypts: the test above can fail
      assertNotEquals(-1, CapturingRelay.findAnyWindow(patternBytes(total), relay.captured(), WINDOW));
    }
  }

  @Test
  void shmStillCarriesBlocksWhenEncryptionIsRequired() throws Exception {
    try (BlockFixture f = fixture("shm,tcp", true, true);
        CapturingRelay relay = new CapturingRelay("127.0.0.1", f.serverNode.advertisement().port())) {
      List<String> ids = f.publish(NS, "b", SEED, SIZES);
      assertIntact(fetchThrough(f, relay.port(), SECRET, ids), ids);
      long total = Arrays.stream(SIZES).sum();
      assertEquals(total, f.client.metrics().bytes(Tier.SHM), f.client.metrics().toString());
      assertEquals(-1, CapturingRelay.findAnyWindow(patternBytes(total), relay.captured(), WINDOW));
    }
  }

  @Test
  void largeFileBlockOverEncryptedTcpArrivesIntact() throws Exception {
    long[] sizes = {(20L << 20) + 17, 5};
    try (BlockFixture f = fixture("tcp", true, true)) {
      List<String> ids = f.publish(NS, "big", SEED, sizes);
      Collector c = fetchThrough(f, f.serverNode.advertisement().port(), SECRET, ids);
      assertTrue(c.failures.isEmpty(), () -> "failures: " + c.failures);
      for (int i = 0; i < ids.size(); i++) {
        ByteBuffer bytes = c.blocks.get(ids.get(i));
        assertEquals(sizes[i], bytes.remaining());
        assertNull(Patterns.mismatch(SEED, BlockFixture.offsetOf(sizes, i), bytes, 0, (int) sizes[i]));
      }
    }
  }

  @Test
  void recordAlteredOnTheWireIsNeverDeliveredAndTheBlockIsReadAgainIntact() throws Exception {
    try (BlockFixture f = fixture("tcp", true, true);
        CapturingRelay relay = new CapturingRelay("127.0.0.1", f.serverNode.advertisement().port())) {
      List<String> ids = f.publish(NS, "b", SEED, SIZES);
      relay.flipOnceAfter(600_000); // well inside the encrypted bytes of the first block
      Collector c = fetchThrough(f, relay.port(), SECRET, ids);
      assertIntact(c, ids);
      assertTrue(relay.connections() >= 2, "the altered connection was not replaced: " + relay.connections());
    }
  }

  @Test
  void wrongSecretIsRefusedAndTheServerServesTheRightOneAfter() throws Exception {
    try (BlockFixture f = fixture("tcp", true, true)) {
      List<String> ids = f.publish(NS, "b", SEED, SIZES);
      int port = f.serverNode.advertisement().port();
      Collector wrong = fetchThrough(f, port, "not-the-secret".getBytes(StandardCharsets.UTF_8), ids);
      assertEquals(ids.size(), wrong.failures.size());
      wrong.failures.values().forEach(e -> assertInstanceOf(AuthenticationException.class, e));
      assertIntact(fetchThrough(f, port, SECRET, ids), ids);
    }
  }

  @Test
  void serverRequiringEncryptionRefusesAClientThatDoesNotEncrypt() throws Exception {
    try (BlockFixture f = fixture("tcp", true, false)) {
      List<String> ids = f.publish(NS, "b", SEED, SIZES);
      Collector c = fetchThrough(f, f.serverNode.advertisement().port(), SECRET, ids);
      assertEquals(ids.size(), c.failures.size(), "blocks: " + c.blocks.keySet());
      assertTrue(c.blocks.isEmpty());
      assertEquals(0, f.client.metrics().bytes(Tier.TCP));
    }
  }

  @Test
  void clientRequiringEncryptionWithoutASecretReadsNothing() throws Exception {
    try (BlockFixture f = fixture("tcp", false, true)) {
      List<String> ids = f.publish(NS, "b", SEED, SIZES);
      Collector c = fetchThrough(f, f.serverNode.advertisement().port(), null, ids);
      assertEquals(ids.size(), c.failures.size());
      c.failures.values().forEach(e -> {
        assertInstanceOf(AuthenticationException.class, e);
        assertTrue(e.getMessage().contains(TransportConf.ENCRYPTION_REQUIRED.name()), e.getMessage());
      });
    }
  }

  @Test
  void clientRequiringEncryptionGetsItFromAServerThatDoesNotRequireIt() throws Exception {
    try (BlockFixture f = fixture("tcp", false, true);
        CapturingRelay relay = new CapturingRelay("127.0.0.1", f.serverNode.advertisement().port())) {
      List<String> ids = f.publish(NS, "b", SEED, SIZES);
      assertIntact(fetchThrough(f, relay.port(), SECRET, ids), ids);
      assertEquals(-1, CapturingRelay.findAnyWindow(patternBytes(Arrays.stream(SIZES).sum()), relay.captured(), WINDOW));
    }
  }

  @Test
  void secondNamespaceProvenOnAnEncryptedConnectionKeepsItEncrypted() throws Exception {
    try (BlockFixture f = fixture("tcp", true, true);
        CapturingRelay relay = new CapturingRelay("127.0.0.1", f.serverNode.advertisement().port())) {
      String other = "app-1/shuffle-1";
      f.server.createNamespace(other, SECRET);
      List<String> ids = f.publish(NS, "b", SEED, SIZES);
      assertIntact(fetchThrough(f, relay.port(), SECRET, ids), ids);
      long[] otherSizes = {100_000};
      List<String> otherIds = f.publish(other, "o", SEED + 1, otherSizes);
      Collector c = new Collector();
      f.client.fetch("127.0.0.1", relay.port(), other, SECRET, otherIds, c).get(60, TimeUnit.SECONDS);
      assertTrue(c.failures.isEmpty(), () -> "failures: " + c.failures);
      assertEquals(1, relay.connections(), "the second namespace was not proven on the same connection");
      byte[] wire = relay.captured();
      assertEquals(-1, CapturingRelay.findAnyWindow(patternBytes(Arrays.stream(SIZES).sum()), wire, WINDOW));
      byte[] second = new byte[(int) otherSizes[0]];
      for (int i = 0; i < second.length; i++) {
        second[i] = Patterns.byteAt(SEED + 1, i);
      }
      assertEquals(-1, CapturingRelay.findAnyWindow(second, wire, WINDOW));
    }
  }
}
