package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.client.BlockClient;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.ChildJvm;
import io.vrdma.transport.testing.Patterns;
import io.vrdma.transport.testing.ShmArenas;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A block server in another JVM: blocks cross the process boundary over shm, and its death is survived. */
@Timeout(120)
class BlockTransferAcrossProcessesTest {
  @TempDir
  Path dir;
  private Path arena;
  private Process server;

  @AfterEach
  void stop() throws Exception {
    if (server != null) {
      server.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    ShmArenas.delete(arena);
  }

  private int startServer(Map<String, String> settings, long seed, long[] sizes) throws Exception {
    StringBuilder s = new StringBuilder();
    for (long size : sizes) {
      s.append(s.length() == 0 ? "" : ",").append(size);
    }
    Map<String, String> args = new HashMap<>(settings);
    args.putAll(Map.of("dir", dir.toString(), "ns", "app/0", "seed", Long.toString(seed), "sizes", s.toString()));
    server = ChildJvm.start(BlockServerProcess.class, args);
    BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
    int port = -1;
    for (String line; (line = out.readLine()) != null; ) {
      if (line.startsWith("PORT ")) {
        port = Integer.parseInt(line.substring(5));
      } else if (line.equals("READY")) {
        return port;
      }
    }
    throw new IllegalStateException("block server process exited with " + server.waitFor());
  }

  private Map<String, String> settings() {
    if (arena == null) {
      arena = ShmArenas.newArenaPath(dir);
    }
    Map<String, String> s = BlockFixture.settings(arena, "shm,tcp");
    s.remove(TransportConf.POOL_LEAK_DETECTION.name());
    return s;
  }

  @Test
  void blocksPublishedByAnotherProcessArriveOverSharedMemory() throws Exception {
    long[] sizes = {0, 1, 4096, 1 << 20, 5_000_000, 333};
    int port = startServer(settings(), 21, sizes);
    try (TransportNode node = TransportNode.start(TransportConf.fromMap(settings()));
        BlockClient client = new BlockClient(node, BlockConf.fromMap(settings()))) {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < sizes.length; i++) {
        ids.add("b" + i);
      }
      Collector c = new Collector();
      client.fetch("127.0.0.1", port, "app/0", null, ids, c).get(60, TimeUnit.SECONDS);
      assertTrue(c.failures.isEmpty(), () -> c.failures.toString());
      for (int i = 0; i < sizes.length; i++) {
        assertNull(Patterns.mismatch(21, BlockFixture.offsetOf(sizes, i), c.blocks.get("b" + i), 0, (int) sizes[i]));
      }
      assertEquals(sizes.length, client.metrics().blocks(Tier.SHM), client.metrics().toString());
    }
  }

  @Test
  void serverThatDiesMidFetchFailsTheRestWithinTheTimeout() throws Exception {
    long[] sizes = new long[300];
    java.util.Arrays.fill(sizes, 64 << 10);
    int port = startServer(settings(), 22, sizes);
    Map<String, String> slowClient = new HashMap<>(settings());
    slowClient.put(TransportConf.FAULT_TIER.name(), "shm");
    slowClient.put(TransportConf.FAULT_DELAY.name(), "10ms");
    slowClient.put(BlockConf.MAX_REQUESTS_IN_FLIGHT_PER_PEER.name(), "2");
    slowClient.put(BlockConf.CLIENT_MAX_RUN_BYTES.name(), "0"); // one slow read per block: the death comes mid-fetch
    try (TransportNode node = TransportNode.start(TransportConf.fromMap(slowClient));
        BlockClient client = new BlockClient(node, BlockConf.fromMap(slowClient))) {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < sizes.length; i++) {
        ids.add("b" + i);
      }
      Collector c = new Collector();
      CompletableFuture<Void> done = client.fetch("127.0.0.1", port, "app/0", null, ids, c);
      while (c.blocks.size() < 10) {
        Thread.sleep(5);
      }
      server.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      done.get(60, TimeUnit.SECONDS);
      assertTrue(c.eachReportedOnce(ids.size()), "every block reported once");
      assertTrue(c.failures.size() > 0, "blocks after the death cannot all arrive");
      c.failures.values().forEach(e -> assertTrue(e instanceof TransportException, e.toString()));
      c.blocks.forEach((id, bytes) -> assertNull(Patterns.mismatch(22, Long.parseLong(id.substring(1)) * (64 << 10),
          bytes, 0, 64 << 10), "a delivered block is intact"));
    }
  }
}
