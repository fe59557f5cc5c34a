package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import scala.Tuple2;

/**
 * The transport's fault injector fails some shm reads and corrupts others in both executors: the block client
 * falls back to tcp, refetches corrupt blocks, and what still fails goes through Spark's own client; the job's
 * result is exactly stock sort shuffle's.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InjectedFaultsShuffleTest {
  private Path arena;
  private JavaSparkContext sc;

  @BeforeAll
  void startCluster() {
    arena = LocalCluster.arenaPath();
    sc = LocalCluster.start(LocalCluster.conf(getClass().getSimpleName(), arena)
        .set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.shuffle.vrdma.transport.fault.tier", "shm")
        .set("spark.shuffle.vrdma.transport.fault.failEvery", "3")
        .set("spark.shuffle.vrdma.transport.fault.corruptEvery", "4")
        .set("spark.shuffle.vrdma.block.retryWait", "20ms"));
  }

  @AfterAll
  void stopCluster() throws Exception {
    if (sc != null) {
      sc.stop();
    }
    Files.deleteIfExists(arena);
  }

  @Test
  void failedAndCorruptShmReadsNeverChangeTheResult() {
    VrdmaDriverEndpoint.current().resetCounters();
    int n = 40_000;
    Map<Integer, Long> expected = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      expected.merge(i % 1009, (long) i * 3, Long::sum);
    }
    List<Integer> numbers = IntStream.range(0, n).boxed().collect(Collectors.toList());
    Map<Integer, Long> actual = new TreeMap<>(sc.parallelize(numbers, 8)
        .mapToPair(i -> new Tuple2<>(i % 1009, (long) i * 3))
        .reduceByKey(Long::sum, 12)
        .collectAsMap());
    assertEquals(expected, actual);
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    assertTrue(driver.total("tierFallbacks") > 0, "no read fell back from shm to tcp");
    assertTrue(driver.total("bytes.tcp") > 0, "no bytes over tcp after shm failures");
    assertTrue(driver.total("bytes.shm") > 0, "no bytes over shm at all");
    assertTrue(driver.total("corruptRefetches") > 0, "no corrupt block was refetched");
  }
}
