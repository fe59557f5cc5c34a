package io.vrdma.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.TransportException.NoCommonTierException;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.Patterns;
import io.vrdma.transport.testing.ShmArenas;
import io.vrdma.transport.tier.TierAvailability;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** How a node picks, advertises and gives up tiers: automatically, by preference, and never fatally. */
@Timeout(60)
class TransportNodeTierTest {
  @TempDir
  Path dir;
  private Path arena;

  @AfterEach
  void deleteArena() throws Exception {
    ShmArenas.delete(arena);
  }

  private Map<String, String> settings(String tiers, String arenaBytes) {
    if (arena == null) {
      arena = ShmArenas.newArenaPath(dir);
    }
    Map<String, String> s = new HashMap<>();
    s.put(TransportConf.HOST.name(), "127.0.0.1");
    s.put(TransportConf.TIERS.name(), tiers);
    s.put(TransportConf.SHM_ARENA_PATH.name(), arena.toString());
    s.put(TransportConf.SHM_ARENA_BYTES.name(), arenaBytes);
    return s;
  }

  private static TransportNode start(Map<String, String> settings) throws TransportException {
    return TransportNode.start(TransportConf.fromMap(settings));
  }

  @Test
  void coResidentNodesChooseShmByDefaultAndEachTierHasAReason() throws Exception {
    try (TransportNode a = start(settings("shm,verbs,tcp", "64m")); TransportNode b = start(settings("shm,verbs,tcp", "64m"));
        Connection c = b.connect(a.advertisement())) {
      assertEquals(Tier.SHM, c.tier());
      assertEquals(java.util.List.of(Tier.SHM, Tier.TCP), java.util.List.copyOf(a.advertisement().tiers().keySet()));
      TierAvailability verbs = a.availability().get(Tier.VERBS.ordinal());
      assertFalse(verbs.available());
      assertFalse(verbs.detail().isBlank(), "an unavailable tier says why");
      assertEquals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"),
          Files.getPosixFilePermissions(arena), "arena is readable by its owner only");
    }
  }

  @Test
  void aRegistrationOffersTheShmTiersCopyOfItsBytesAndNoneWithoutShm() throws Exception {
    Path file = Patterns.writeFile(dir.resolve("segment"), 7, 0, 10_000);
    try (TransportNode shm = start(settings("shm,tcp", "64m"));
        Registration r = shm.register(RegionSource.fileSegment(file, 1000, 5000))) {
      java.nio.ByteBuffer copy = r.copy().orElseThrow();
      assertTrue(copy.isReadOnly());
      assertEquals(5000, copy.remaining());
      assertNull(Patterns.mismatch(7, 1000, copy, 0, 5000));
    }
    try (TransportNode tcp = start(settings("tcp", "64m"));
        Registration r = tcp.register(RegionSource.fileSegment(file, 0, 10_000))) {
      assertTrue(r.copy().isEmpty(), "the tcp tier serves the file itself and has no copy");
    }
  }

  @Test
  void nodesOnDifferentArenasFallBackToTcp() throws Exception {
    Map<String, String> other = settings("shm,tcp", "64m");
    other.put(TransportConf.SHM_ARENA_PATH.name(), arena + "-other");
    try (TransportNode a = start(settings("shm,tcp", "64m")); TransportNode b = start(other);
        Connection c = b.connect(a.advertisement())) {
      assertEquals(Tier.TCP, c.tier());
    } finally {
      Files.deleteIfExists(Path.of(arena + "-other"));
    }
  }

  @Test
  void unusableArenaTurnsShmOffWithItsReasonAndTcpCarriesOn() throws Exception {
    Map<String, String> s = settings("shm,tcp", "64m");
    s.put(TransportConf.SHM_ARENA_PATH.name(), dir.resolve("no-such-dir").resolve("arena").toString());
    try (TransportNode a = start(s); TransportNode b = start(settings("shm,tcp", "64m"));
        Connection c = b.connect(a.advertisement())) {
      assertFalse(a.has(Tier.SHM));
      TierAvailability shm = a.availability().get(Tier.SHM.ordinal());
      assertTrue(shm.detail().contains("no-such-dir"), shm.detail());
      assertTrue(shm.cause().isPresent(), "the cause is kept");
      assertEquals(Tier.TCP, c.tier());
    }
  }

  @Test
  void fullArenaLeavesTheRegionOnTcpAndTheReaderFallsBack() throws Exception {
    try (TransportNode a = start(settings("shm,tcp", "1m")); TransportNode b = start(settings("shm,tcp", "1m"));
        Connection c = b.connect(a.advertisement())) {
      assertEquals(Tier.SHM, c.tier());
      Path file = Patterns.writeFile(dir.resolve("big"), 3, 0, 4 << 20);
      try (Registration r = a.register(RegionSource.fileSegment(file, 0, 4 << 20));
          PooledBuffer buf = b.bufferPool().acquire(1 << 20)) {
        assertTrue(r.descriptor(Tier.SHM).isEmpty(), "a 4 MiB region does not fit a 1 MiB arena");
        RegionDescriptor tcp = r.descriptor(Tier.TCP).orElseThrow();
        c.read(tcp, 3 << 20, 1 << 20, buf, 0).get(10, TimeUnit.SECONDS);
        assertEquals(null, Patterns.mismatch(3, 3 << 20, buf.nioBuffer(), 0, 1 << 20));
      }
    }
  }

  @Test
  void forcedTierThatThePeerLacksFailsTheConnectWithBothSidesNamed() throws Exception {
    try (TransportNode a = start(settings("tcp", "64m")); TransportNode b = start(settings("shm", "64m"))) {
      NoCommonTierException e = assertThrows(NoCommonTierException.class, () -> b.connect(a.advertisement()));
      assertTrue(e.getMessage().contains("[shm]"), e.getMessage());
    }
  }

  @Test
  void clientOnlyNodeReadsOverShmAndTcpWithoutListeningOrTakingAnArenaSlot() throws Exception {
    Path file = Patterns.writeFile(dir.resolve("served"), 5, 0, 300_000);
    try (TransportNode server = start(settings("shm,tcp", "64m"))) {
      int slotsBefore = ((io.vrdma.transport.shm.ShmTier) server.provider(Tier.SHM)).arena().slotsInUse();
      try (TransportNode reader = TransportNode.startClient(TransportConf.fromMap(settings("shm,tcp", "64m")));
          Registration r = server.register(RegionSource.fileSegment(file, 0, 300_000));
          Connection c = reader.connect(server.advertisement());
          PooledBuffer buf = reader.bufferPool().acquire(300_000)) {
        assertFalse(reader.serving());
        assertEquals(0, reader.advertisement().port(), "a client-only node advertises no control server");
        assertEquals(slotsBefore,
            ((io.vrdma.transport.shm.ShmTier) server.provider(Tier.SHM)).arena().slotsInUse(),
            "a reader takes no process slot in the arena");
        assertEquals(Tier.SHM, c.tier());
        c.read(r.descriptor(Tier.SHM).orElseThrow(), 0, 300_000, buf, 0).get(10, TimeUnit.SECONDS);
        assertNull(Patterns.mismatch(5, 0, buf.nioBuffer(), 0, 300_000));
        c.read(r.descriptor(Tier.TCP).orElseThrow(), 1000, 5000, buf, 0).get(10, TimeUnit.SECONDS);
        assertNull(Patterns.mismatch(5, 1000, buf.nioBuffer(), 0, 5000));
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> reader.register(RegionSource.buffer(java.nio.ByteBuffer.allocate(4))));
        assertTrue(e.getMessage().contains("client-only"), e.getMessage());
      }
    }
  }

  @Test
  void closedNodeRefusesWork() throws Exception {
    TransportNode a = start(settings("tcp", "64m"));
    a.close();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> a.register(RegionSource.buffer(java.nio.ByteBuffer.allocate(4))));
    assertInstanceOf(IllegalStateException.class, e);
  }
}
