package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/** spark.shuffle.vrdma.enabled=false: no executor starts a block server, and the manager is Spark's sort shuffle. */
class PluginOffShuffleTest extends ClusterTest {
  @Override
  protected SparkConf configure(SparkConf conf) {
    return conf
        .set("spark.shuffle.vrdma.enabled", "false");
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
