package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.block.server.StagingMetrics;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.shm.ShmTier;
import io.vrdma.transport.testing.ChildJvm;
import io.vrdma.transport.testing.Patterns;
import io.vrdma.transport.testing.ShmArenas;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The block server's staging window over a real shared-memory arena far smaller than the data: every byte still
 * goes over shm, the window's space comes back, readers that compete for it both finish, and readers that die or
 * stall lose their leases without ever seeing another block's bytes.
 */
class StagingWindowTest {
  private static final String NS = "app/0";
  private static final int BLOCK = 100 << 10;

  @TempDir
  Path dir;

  /** Node settings with a 2 MiB arena (about 1.8 MiB of chunks): a few dozen blocks of 100 KiB at most. */
  private static Map<String, String> smallArena(Path arena, Map<String, String> extra) {
    Map<String, String> s = BlockFixture.settings(arena, "shm,tcp");
    s.put(TransportConf.SHM_ARENA_BYTES.name(), "2m");
    s.putAll(extra);
    return s;
  }

  private BlockFixture fixture(Map<String, String> serverExtra) throws Exception {
    Path arena = ShmArenas.newArenaPath(dir);
    return new BlockFixture(dir, smallArena(arena, serverExtra), smallArena(arena, Map.of()), false);
  }

  private static long[] sizes(int count) {
    long[] sizes = new long[count];
    Arrays.fill(sizes, BLOCK);
    return sizes;
  }

  private static void assertIntact(Collector c, long seed, long[] sizes, List<String> ids) {
    assertTrue(c.failures.isEmpty(), () -> c.failures.toString());
    assertTrue(c.eachReportedOnce(ids.size()), "every block reported once");
    for (int i = 0; i < ids.size(); i++) {
      assertNull(Patterns.mismatch(seed, BlockFixture.offsetOf(sizes, i), c.blocks.get(ids.get(i)), 0, (int) sizes[i]),
          "block " + ids.get(i) + " intact");
    }
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 15 s: " + what);
      }
      Thread.sleep(10);
    }
  }

  private static int freeChunks(BlockFixture f) {
    return ((ShmTier) f.serverNode.provider(Tier.SHM)).arena().freeChunks();
  }

  @Test
  void aFetchEightTimesTheArenaMovesEveryByteOverShmAndGivesTheWindowBack() throws Exception {
    try (BlockFixture f = fixture(Map.of())) {
      int freeBefore = freeChunks(f);
      long window = f.serverNode.provider(Tier.SHM).windowBytes();
      long[] sizes = sizes((int) (8 * window / BLOCK) + 1);
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "b", 31, sizes);
      Collector c = new Collector();
      f.client.fetch("127.0.0.1", f.serverNode.advertisement().port(), NS, null, ids, c).get(60, TimeUnit.SECONDS);

      assertIntact(c, 31, sizes, ids);
      long total = Arrays.stream(sizes).sum();
      assertTrue(total > 8 * window, "the data is more than eight windows");
      assertEquals(total, f.client.metrics().bytes(Tier.SHM), f.client.metrics().toString());
      assertEquals(0, f.client.metrics().bytes(Tier.TCP), f.client.metrics().toString());
      StagingMetrics m = f.server.stagingMetrics();
      assertEquals(0, m.windowFallbackBlocks(), m.toString());
      assertEquals(total, m.stagedBytes(), m.toString());
      await(() -> f.server.leasesHeld() == 0, "every lease given back");
      assertEquals(freeBefore, freeChunks(f), "the window's space is free again");
    }
  }

  @Test
  void tenNamespacesEachLargerThanTheArenaAllGoOverShmWhileTheEarlierOnesStayPublished() throws Exception {
    try (BlockFixture f = fixture(Map.of())) {
      long window = f.serverNode.provider(Tier.SHM).windowBytes();
      long[] sizes = sizes((int) (2 * window / BLOCK));
      long total = Arrays.stream(sizes).sum();
      for (int round = 0; round < 10; round++) {
        String ns = "app/" + round;
        f.server.createNamespace(ns, null);
        List<String> ids = f.publish(ns, "b", 40 + round, sizes);
        long shmBefore = f.client.metrics().bytes(Tier.SHM);
        Collector c = new Collector();
        f.client.fetch("127.0.0.1", f.serverNode.advertisement().port(), ns, null, ids, c).get(60, TimeUnit.SECONDS);
        assertIntact(c, 40 + round, sizes, ids);
        assertEquals(total, f.client.metrics().bytes(Tier.SHM) - shmBefore, "round " + round + ": every byte over shm");
      }
      assertEquals(0, f.client.metrics().bytes(Tier.TCP), f.client.metrics().toString());
      assertEquals(10, f.server.namespaces().size(), "no namespace was dropped");
    }
  }

  @Test
  void twoReadersCompetingForASmallWindowBothFinishOverShm() throws Exception {
    try (BlockFixture f = fixture(Map.of())) {
      Map<String, String> secondSettings = smallArena(f.arena, Map.of());
      try (TransportNode secondNode = TransportNode.start(TransportConf.fromMap(secondSettings));
          BlockClient second = new BlockClient(secondNode, BlockConf.fromMap(secondSettings))) {
        long window = f.serverNode.provider(Tier.SHM).windowBytes();
        long[] sizes = sizes((int) (4 * window / BLOCK));
        f.server.createNamespace(NS, null);
        List<String> ids = f.publish(NS, "b", 51, sizes);
        int port = f.serverNode.advertisement().port();
        // each reader works on a block for a while before letting it go, as a reduce task does
        Collector slowA = new SlowCollector();
        Collector slowB = new SlowCollector();
        CompletableFuture<Void> a = f.client.fetch("127.0.0.1", port, NS, null, ids, slowA);
        CompletableFuture<Void> b = second.fetch("127.0.0.1", port, NS, null, ids, slowB);
        CompletableFuture.allOf(a, b).get(90, TimeUnit.SECONDS);

        assertIntact(slowA, 51, sizes, ids);
        assertIntact(slowB, 51, sizes, ids);
        long total = Arrays.stream(sizes).sum();
        assertEquals(total, f.client.metrics().bytes(Tier.SHM), "reader A: " + f.client.metrics());
        assertEquals(total, second.metrics().bytes(Tier.SHM), "reader B: " + second.metrics());
        StagingMetrics m = f.server.stagingMetrics();
        assertTrue(m.windowWaits() > 0, "the readers did compete for the window: " + m);
        assertEquals(0, m.windowFallbackBlocks(), m.toString());
      }
    }
  }

  /** Keeps each block 2 ms before copying and releasing it. */
  private static final class SlowCollector extends Collector {
    @Override
    public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      super.onBlockFetchSuccess(blockId, block);
    }
  }

  @Test
  void aStalledReaderLosesItsLeasesAfterTheTimeoutAndItsInPlaceBlocksFailInsteadOfShowingOtherBytes()
      throws Exception {
    try (BlockFixture f = fixture(Map.of(BlockConf.STAGE_LEASE_TIMEOUT.name(), "3s"))) {
      f.server.createNamespace(NS, null);
      long[] sizes = sizes(3);
      List<String> held = f.publish(NS, "held", 61, sizes);
      Map<String, FetchedBlock> holding = new ConcurrentHashMap<>();
      int port = f.serverNode.advertisement().port();
      f.client.fetch("127.0.0.1", port, NS, null, held, new Collector() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          holding.put(blockId, block); // stalls: never reads or releases it
        }
      }).get(30, TimeUnit.SECONDS);
      assertEquals(3, holding.size());
      assertEquals(1, f.server.leasesHeld(),
          "three blocks back to back are one run under one lease, held until the timeout (3 s; the fetch takes far less)");

      await(() -> f.server.leasesHeld() == 0, "the stalled reader's leases expire");
      assertEquals(1, f.server.stagingMetrics().leasesExpired());
      // the space is reused for other blocks, with other bytes, at the same places
      long[] others = sizes((int) (f.serverNode.provider(Tier.SHM).windowBytes() / 2 / BLOCK));
      List<String> otherIds = f.publish(NS, "other", 62, others);
      Collector c = new Collector();
      f.client.fetch("127.0.0.1", port, NS, null, otherIds, new Collector() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          c.onBlockFetchSuccess(blockId, block);
        }
      }).get(30, TimeUnit.SECONDS);

      for (FetchedBlock block : holding.values()) {
        assertThrows(IOException.class, block::nioByteBuffer, "a taken-back block's bytes are refused");
        IOException e = assertThrows(IOException.class, () -> {
          try (InputStream in = block.createInputStream()) {
            in.readAllBytes();
          }
        });
        assertTrue(e.getMessage().contains("changed while it was read in place"), e.getMessage());
        block.release();
      }
    }
  }

  @Test
  void aReaderProcessKilledWhileHoldingLeasesLosesThemAtOnce() throws Exception {
    try (BlockFixture f = fixture(Map.of(BlockConf.STAGE_LEASE_TIMEOUT.name(), "10m"))) {
      int freeBefore = freeChunks(f);
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "b", 71, sizes(5));
      Map<String, String> args = new HashMap<>(smallArena(f.arena, Map.of()));
      args.remove(TransportConf.POOL_LEAK_DETECTION.name());
      args.putAll(Map.of("port", Integer.toString(f.serverNode.advertisement().port()), "ns", NS,
          "ids", String.join(",", ids)));
      Process reader = ChildJvm.start(BlockReaderProcess.class, args);
      try {
        BufferedReader out = new BufferedReader(new InputStreamReader(reader.getInputStream(), StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>();
        String line;
        while ((line = out.readLine()) != null && !line.startsWith("HOLDING")) {
          lines.add(line);
        }
        assertEquals("HOLDING 5", line, "the reader's output: " + lines);
        assertEquals(1, f.server.leasesHeld(), "five blocks back to back: one run, one lease");
        assertTrue(freeChunks(f) < freeBefore, "the held blocks take window space");

        reader.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        await(() -> f.server.leasesHeld() == 0, "the dead reader's leases are taken back");
        assertEquals(1, f.server.stagingMetrics().leasesReclaimed());
        assertEquals(0, f.server.stagingMetrics().leasesExpired(), "taken back for the closed connection, not by age");
        assertEquals(freeBefore, freeChunks(f), "the window's space is free again");
      } finally {
        reader.destroyForcibly();
      }
    }
  }
}
