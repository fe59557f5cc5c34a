package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

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

/** spark.shuffle.vrdma.enabled=false: no executor starts a block server, and the manager is Spark's sort shuffle. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PluginOffShuffleTest {
  private Path arena;
  private JavaSparkContext sc;

  @BeforeAll
  void startCluster() {
    arena = LocalCluster.arenaPath();
    sc = LocalCluster.start(LocalCluster.conf(getClass().getSimpleName(), arena)
        .set("spark.shuffle.vrdma.enabled", "false"));
  }

  @AfterAll
  void stopCluster() throws Exception {
    if (sc != null) {
      sc.stop();
    }
    Files.deleteIfExists(arena);
  }

  @Test
  void everyBlockGoesThroughSpark() {
    int n = 10_000;
    Map<Integer, Long> expected = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      expected.merge(i % 53, (long) i, Long::sum);
    }
    List<Integer> numbers = IntStream.range(0, n).boxed().collect(Collectors.toList());
    Map<Integer, Long> actual = new TreeMap<>(sc.parallelize(numbers, 4)
        .mapToPair(i -> new Tuple2<>(i % 53, (long) i)).reduceByKey(Long::sum, 3).collectAsMap());
    assertEquals(expected, actual);
    assertEquals(Map.of(), VrdmaDriverEndpoint.current().executors(), "a block server started although disabled");
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    assertEquals(0, driver.total("blocks.shm") + driver.total("blocks.tcp"));
  }
}
