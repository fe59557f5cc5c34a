package io.vrdma.bench;

import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/** How the benchmarks configure transport nodes: loopback, one forced tier, a private shm arena. */
final class BenchNodes {
  private static final Path DEV_SHM = Path.of("/dev/shm");

  private BenchNodes() {}

  /** A fresh arena path under /dev/shm, or in {@code fallbackDir} when the machine has no /dev/shm. */
  static Path newArenaPath(Path fallbackDir) {
    String name = "vrdma-bench-" + UUID.randomUUID();
    return Files.isDirectory(DEV_SHM) && Files.isWritable(DEV_SHM) ? DEV_SHM.resolve(name)
        : fallbackDir.resolve(name);
  }

  /** Settings of a node forced to {@code tier}; {@code arena} is used by the shm tier only. */
  static TransportConf conf(Tier tier, Path arena) {
    Map<String, String> s = new HashMap<>();
    s.put(TransportConf.HOST.name(), "127.0.0.1");
    s.put(TransportConf.TIERS.name(), tier.configName());
    s.put(TransportConf.POOL_MAX_BUFFER.name(), Integer.toString(Workload.MAX_BLOCK_BYTES));
    s.put(TransportConf.POOL_MAX_BYTES.name(), "1g");
    if (tier == Tier.SHM) {
      s.put(TransportConf.SHM_ARENA_PATH.name(), arena.toString());
      // the source region plus room; both nodes of a benchmark attach the same arena
      s.put(TransportConf.SHM_ARENA_BYTES.name(), Integer.toString(4 * Workload.SOURCE_BYTES));
    }
    return TransportConf.fromMap(s);
  }

  static void deleteQuietly(Path path) {
    if (path == null) {
      return;
    }
    try (Stream<Path> all = Files.walk(path)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          System.err.println("cannot delete " + p + ": " + e);
        }
      });
    } catch (IOException e) {
      if (Files.exists(path)) {
        System.err.println("cannot delete " + path + ": " + e);
      }
    }
  }
}
