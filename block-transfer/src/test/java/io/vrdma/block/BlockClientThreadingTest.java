package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockException.PeerGoneException;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.block.client.FetchedBlocks;
import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.Patterns;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The block client's threading model and its runs: a silent peer delays only its own blocks, completions never
 * run on the transport's event loops, contiguous blocks travel as one run and can be joined without a copy, and a
 * peer declared gone fails its blocks at once.
 */
@Timeout(120)
class BlockClientThreadingTest {
  private static final String NS = "app/threads";

  @TempDir
  Path dir;

  /** Accepts connections and never says a word: a hung executor. */
  private static final class SilentPeer implements AutoCloseable {
    final ServerSocket socket;
    final List<Socket> accepted = new CopyOnWriteArrayList<>();
    final Thread acceptor;

    SilentPeer() throws Exception {
      socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      acceptor = new Thread(() -> {
        try {
          while (true) {
            accepted.add(socket.accept());
          }
        } catch (java.io.IOException e) {
          // closed
        }
      }, "silent-peer");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    @Override
    public void close() throws java.io.IOException {
      socket.close();
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  @Test
  void aPeerThatAcceptsButNeverAnswersDelaysOnlyItsOwnBlocks() throws Exception {
    // the silent peer's blocks wait for the whole read timeout (20 s); the live peer's must not wait with them
    Map<String, String> extra = Map.of(TransportConf.READ_TIMEOUT.name(), "20s");
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, extra); SilentPeer silent = new SilentPeer()) {
      f.server.createNamespace(NS, null);
      Collector stuck = new Collector();
      List<CompletableFuture<Void>> silentFetches = new ArrayList<>();
      for (int i = 0; i < 8; i++) { // more than the client's threads: each would hold one if connects blocked them
        silentFetches.add(f.client.fetch("127.0.0.1", silent.socket.getLocalPort(), NS, null, List.of("s" + i), stuck));
      }
      long[] sizes = {10_000, 20_000, 30_000, 40_000};
      List<String> ids = f.publish(NS, "b", 5, sizes);
      Collector live = new Collector();
      long start = System.nanoTime();
      f.client.fetch("127.0.0.1", f.serverNode.advertisement().port(), NS, null, ids, live).get(10, TimeUnit.SECONDS);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(live.failures.isEmpty(), () -> live.failures.toString());
      assertEquals(4, live.blocks.size());
      assertTrue(millis < 10_000, "the live peer's blocks took " + millis + " ms");
      assertFalse(silentFetches.stream().anyMatch(CompletableFuture::isDone),
          "the silent peer's blocks are still waiting for its answer (read timeout 20 s)");
    }
  }

  @Test
  void readCompletionsAndDeliveriesRunOnTheClientsThreadsNeverOnTheEventLoops() throws Exception {
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, Map.of(BlockConf.CLIENT_MAX_RUN_BYTES.name(), "0"))) {
      f.server.createNamespace(NS, null);
      long[] sizes = new long[50];
      java.util.Arrays.fill(sizes, 30_000);
      List<String> ids = f.publish(NS, "b", 6, sizes);
      Set<String> threads = ConcurrentHashMap.newKeySet();
      Collector c = new Collector() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          threads.add(Thread.currentThread().getName());
          super.onBlockFetchSuccess(blockId, block);
        }
      };
      f.client.fetch("127.0.0.1", f.serverNode.advertisement().port(), NS, null, ids, c).get(30, TimeUnit.SECONDS);
      assertTrue(c.failures.isEmpty(), () -> c.failures.toString());
      assertEquals(50, c.blocks.size());
      assertTrue(threads.stream().allMatch(t -> t.startsWith("vrdma-block-client-")), "delivered on " + threads);
    }
  }

  @ParameterizedTest
  @EnumSource(value = Tier.class, names = {"SHM", "TCP"})
  void contiguousBlocksTravelAsOneRunAndJoinWithoutACopy(Tier tier) throws Exception {
    try (BlockFixture f = BlockFixture.forTier(dir, tier, Map.of())) {
      f.server.createNamespace(NS, null);
      long[] sizes = new long[200];
      for (int i = 0; i < sizes.length; i++) {
        sizes[i] = 100 + 7 * i; // small blocks, as in a shuffle of many maps and reducers
      }
      List<String> ids = f.publish(NS, "b", 7, sizes);
      List<List<String>> runs = new CopyOnWriteArrayList<>();
      Map<String, ByteBuffer> joined = new ConcurrentHashMap<>();
      Collector c = new Collector() {
        @Override
        public void onRunFetched(List<String> blockIds, List<FetchedBlock> blocks) {
          runs.add(List.copyOf(blockIds));
          FetchedBlock whole = FetchedBlocks.joinInPlace("whole", blocks).orElseThrow(
              () -> new AssertionError("blocks of one run are neighbours"));
          try {
            ByteBuffer b = whole.nioByteBuffer();
            joined.put(blockIds.get(0), ByteBuffer.allocate(b.remaining()).put(b).flip());
          } catch (java.io.IOException e) {
            throw new AssertionError(e);
          } finally {
            whole.release();
          }
          super.onRunFetched(blockIds, blocks);
        }
      };
      f.client.fetch("127.0.0.1", f.serverNode.advertisement().port(), NS, null, ids, c).get(30, TimeUnit.SECONDS);
      assertTrue(c.failures.isEmpty(), () -> c.failures.toString());
      for (int i = 0; i < ids.size(); i++) {
        assertNull(Patterns.mismatch(7, BlockFixture.offsetOf(sizes, i), c.blocks.get(ids.get(i)), 0, (int) sizes[i]));
      }
      assertEquals(List.of(ids), runs, "200 small blocks back to back: one run, one read");
      long total = java.util.Arrays.stream(sizes).sum();
      assertNull(Patterns.mismatch(7, 0, joined.get("b0"), 0, (int) total), "the joined run is the file's bytes");
      assertEquals(200, f.client.metrics().blocks(tier));
      if (tier == Tier.SHM) {
        assertEquals(1, f.server.stagingMetrics().stagedRuns(), "one copy into the window for the whole run");
      }
    }
  }

  @Test
  void blocksOfAPeerDeclaredGoneFailAtOnceWithoutRetries() throws Exception {
    Map<String, String> slowRetries = Map.of(BlockConf.RETRY_WAIT.name(), "2s");
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, slowRetries)) {
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "b", 8, 1000, 2000);
      int port = f.serverNode.advertisement().port();
      Collector first = new Collector();
      f.client.fetch("127.0.0.1", port, NS, null, ids, first).get(30, TimeUnit.SECONDS);
      assertEquals(2, first.blocks.size());

      f.client.peerGone("127.0.0.1", port, "executor 7 removed");
      Collector later = new Collector();
      long start = System.nanoTime();
      f.client.fetch("127.0.0.1", port, NS, null, ids, later).get(30, TimeUnit.SECONDS);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertEquals(2, later.failures.size());
      later.failures.values().forEach(e -> assertInstanceOf(PeerGoneException.class, e));
      assertTrue(millis < 1_000, "failed in " + millis + " ms, without the 2 s retry wait");
      assertEquals(0, f.client.metrics().retries());
    }
  }
}
