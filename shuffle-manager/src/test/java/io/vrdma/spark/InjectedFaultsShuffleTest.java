package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import scala.Tuple2;

/**
 * The transport's fault injector fails some shm reads and corrupts others in both executors: the block client
 * falls back to tcp, refetches corrupt blocks, and what still fails goes through Spark's own client; the job's
 * result is exactly stock sort shuffle's.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class InjectedFaultsShuffleTest extends ClusterTest {
  @Override
  protected SparkConf configure(SparkConf conf) {
    return conf
        .set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        // the faults hit tier reads: small runs must not come inline in the locate answers, which no tier reads
        .set("spark.shuffle.vrdma.block.client.inlineBytes", "0")
        .set("spark.shuffle.vrdma.transport.fault.tier", "shm")
        .set("spark.shuffle.vrdma.transport.fault.failEvery", "3")
        .set("spark.shuffle.vrdma.transport.fault.corruptEvery", "4")
        .set("spark.shuffle.vrdma.block.retryWait", "20ms");
  }

  @Test
  @Order(1)
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

  /**
   * The first attempt of one reduce task kills its executor mid-read: its map outputs and block server are gone,
   * reads from it fail on our client and on Spark's, Spark recomputes the lost map outputs on a new executor
   * (which registers its own block server) and the result is still exact. The driver tells the surviving executor
   * that the dead one was removed, and the dead one's block server leaves the driver's directory.
   */
  @Test
  @Order(2)
  void executorKilledDuringReduce() throws Exception {
    AtomicInteger removedExecutors = new AtomicInteger();
    java.util.Set<String> removedIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
    sc.sc().addSparkListener(new SparkListener() {
      @Override
      public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
        removedExecutors.incrementAndGet();
        removedIds.add(removed.executorId());
      }
    });
    int n = 20_000;
    Map<Integer, Long> expected = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      expected.merge(i % 101, (long) i, Long::sum);
    }
    List<Integer> numbers = IntStream.range(0, n).boxed().collect(Collectors.toList());
    Map<Integer, Long> actual = new TreeMap<>(sc.parallelize(numbers, 6)
        .mapToPair(i -> new Tuple2<>(i % 101, (long) i))
        .reduceByKey(Long::sum, 4)
        .mapPartitions(records -> {
          TaskContext task = TaskContext.get();
          if (task.partitionId() == 0 && task.stageAttemptNumber() == 0 && task.attemptNumber() == 0) {
            Runtime.getRuntime().halt(1); // the executor dies while its reduce task reads
          }
          return records;
        })
        .mapToPair(t -> t)
        .collectAsMap());
    assertEquals(expected, actual);
    sc.sc().listenerBus().waitUntilEmpty();
    assertTrue(removedExecutors.get() >= 1, "no executor died: the test proved nothing");
    for (String id : removedIds) {
      assertTrue(!VrdmaDriverEndpoint.current().executors().containsKey(id),
          "removed executor " + id + " is still in the driver's directory");
    }
    // the notice is one-way: give the surviving executor's log a moment to show it
    List<String> told = List.of();
    for (int i = 0; i < 50 && told.isEmpty(); i++) {
      told = LocalCluster.executorLogLines(sc.sc().applicationId(), "its blocks go to Spark at once");
      Thread.sleep(100);
    }
    assertTrue(!told.isEmpty(), "no surviving executor heard that executor " + removedIds + " was removed");
  }
}
