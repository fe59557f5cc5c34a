package io.vrdma.block;

import io.vrdma.block.client.BlockClient;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.Patterns;
import io.vrdma.transport.testing.ShmArenas;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A block server and a block client on two transport nodes sharing one shm arena, in this JVM. */
final class BlockFixture implements AutoCloseable {
  final Path dir;
  final Path arena;
  final TransportNode serverNode;
  final TransportNode clientNode;
  final BlockServer server;
  final BlockClient client;

  /** Settings of a node: loopback, the given tiers, a shared arena, quick retries. */
  static Map<String, String> settings(Path arena, String tiers) {
    Map<String, String> s = new HashMap<>();
    s.put(TransportConf.HOST.name(), "127.0.0.1");
    s.put(TransportConf.TIERS.name(), tiers);
    s.put(TransportConf.SHM_ARENA_PATH.name(), arena.toString());
    s.put(TransportConf.SHM_ARENA_BYTES.name(), "256m");
    s.put(TransportConf.READ_TIMEOUT.name(), "5s");
    s.put(TransportConf.POOL_LEAK_DETECTION.name(), "true");
    s.put(BlockConf.RETRY_WAIT.name(), "10ms");
    return s;
  }

  BlockFixture(Path dir, Map<String, String> serverSettings, Map<String, String> clientSettings, boolean authenticate)
      throws Exception {
    this.dir = dir;
    this.arena = Path.of(serverSettings.get(TransportConf.SHM_ARENA_PATH.name()));
    serverNode = TransportNode.start(TransportConf.fromMap(serverSettings));
    clientNode = TransportNode.start(TransportConf.fromMap(clientSettings));
    server = new BlockServer(serverNode, BlockConf.fromMap(serverSettings), authenticate);
    client = new BlockClient(clientNode, BlockConf.fromMap(clientSettings));
  }

  static BlockFixture forTier(Path dir, Tier tier, Map<String, String> clientExtra) throws Exception {
    Path arena = ShmArenas.newArenaPath(dir);
    String tiers = tier == Tier.SHM ? "shm,tcp" : tier.configName();
    Map<String, String> client = settings(arena, tiers);
    client.putAll(clientExtra);
    return new BlockFixture(dir, settings(arena, tiers), client, false);
  }

  /** Publishes one pattern file (seed) holding blocks of the given sizes, ids {@code prefix + index}. */
  List<String> publish(String namespace, String prefix, long seed, long... sizes) throws Exception {
    long total = 0;
    for (long s : sizes) {
      total += s;
    }
    Path file = Patterns.writeFile(dir.resolve(prefix + seed + "-" + System.nanoTime()), seed, 0, total);
    List<BlockSegment> segments = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    long offset = 0;
    for (int i = 0; i < sizes.length; i++) {
      ids.add(prefix + i);
      segments.add(new BlockSegment(prefix + i, offset, sizes[i]));
      offset += sizes[i];
    }
    server.publish(namespace, file, segments);
    return ids;
  }

  /** Fetches {@code ids} of {@code namespace} from the server (no secret), waiting up to a minute for all. */
  Collector fetchAll(String namespace, List<String> ids) throws Exception {
    Collector c = new Collector();
    client.fetch("127.0.0.1", serverNode.advertisement().port(), namespace, null, ids, c)
        .get(60, java.util.concurrent.TimeUnit.SECONDS);
    return c;
  }

  /** Where block {@code index} of a file of {@code sizes} starts, for checking its pattern bytes. */
  static long offsetOf(long[] sizes, int index) {
    long offset = 0;
    for (int i = 0; i < index; i++) {
      offset += sizes[i];
    }
    return offset;
  }

  @Override
  public void close() throws java.io.IOException {
    client.close();
    server.close();
    String leaks = clientNode.bufferPool().leakReport();
    clientNode.close();
    serverNode.close();
    ShmArenas.delete(arena);
    if (!leaks.isEmpty()) {
      throw new AssertionError("client leaked pooled buffers:\n" + leaks);
    }
  }
}
