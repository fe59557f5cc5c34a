package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.FetchFailed;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/**
 * An executor dies while the reduce stage reads its map outputs: Spark sees the fetch failure and retries the
 * stage as soon with our manager as with its own sort shuffle (the same job, the same kill, one application
 * each, side by side), counted from the driver's notice of the removal to the retried stage's submission.
 */
class ExecutorLossTimingTest {
  /** What the issue asks: the retry comes no later than stock's plus this. */
  private static final long SLACK_MILLIS = 1_000;

  /** What one application saw: FetchFailed task ends, and the delay from the executor's removal to the retry. */
  private record Loss(int fetchFailures, long removalToRetryMillis) {}

  @Test
  void aLostExecutorsBlocksFailOverToSparksStageRetryAsFastAsWithStockShuffle() throws Exception {
    Loss stock = run(false);
    Loss ours = run(true);
    System.out.printf("executor loss: stock %d FetchFailed, removal to stage retry %d ms; vrdma %d FetchFailed,"
        + " %d ms%n", stock.fetchFailures(), stock.removalToRetryMillis(), ours.fetchFailures(),
        ours.removalToRetryMillis());
    assertTrue(stock.fetchFailures() > 0 && ours.fetchFailures() > 0,
        "the kill must make reducers fail to fetch (else the test proves nothing): " + stock + ", " + ours);
    assertTrue(ours.removalToRetryMillis() <= stock.removalToRetryMillis() + SLACK_MILLIS,
        "stage retry after " + ours.removalToRetryMillis() + " ms with our manager, " + stock.removalToRetryMillis()
            + " ms with Spark's sort shuffle");
  }

  private static Loss run(boolean vrdma) throws Exception {
    Path arena = LocalCluster.arenaPath();
    SparkConf conf = LocalCluster.conf("ExecutorLossTiming-" + (vrdma ? "vrdma" : "stock"), arena)
        .set("spark.shuffle.vrdma.transport.tiers", "shm,tcp");
    if (!vrdma) {
      conf.set("spark.shuffle.manager", "sort");
    }
    JavaSparkContext sc = LocalCluster.start(conf);
    try {
      AtomicLong removedAt = new AtomicLong();
      AtomicLong retriedAt = new AtomicLong();
      AtomicInteger fetchFailures = new AtomicInteger();
      sc.sc().addSparkListener(new SparkListener() {
        @Override
        public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
          removedAt.compareAndSet(0, System.nanoTime());
        }

        @Override
        public void onStageSubmitted(SparkListenerStageSubmitted submitted) {
          if (submitted.stageInfo().attemptNumber() > 0) {
            retriedAt.compareAndSet(0, System.nanoTime());
          }
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
          if (end.reason() instanceof FetchFailed) {
            fetchFailures.incrementAndGet();
          }
        }
      });
      int n = 40_000;
      Map<Integer, Long> expected = new TreeMap<>();
      for (int i = 0; i < n; i++) {
        expected.merge(i % 211, (long) i, Long::sum);
      }
      List<Integer> numbers = IntStream.range(0, n).boxed().collect(Collectors.toList());
      Map<Integer, Long> actual = new TreeMap<>(sc.parallelize(numbers, 8)
          .mapToPair(i -> new Tuple2<>(i % 211, (long) i))
          .reduceByKey(Long::sum, 8)
          .mapPartitions(records -> {
            TaskContext task = TaskContext.get();
            if (task.partitionId() == 0 && task.stageAttemptNumber() == 0 && task.attemptNumber() == 0) {
              Runtime.getRuntime().halt(1); // this executor dies while the others' reduce tasks read from it
            }
            return records;
          })
          .mapToPair(t -> t)
          .collectAsMap());
      assertEquals(expected, actual);
      sc.sc().listenerBus().waitUntilEmpty();
      assertTrue(removedAt.get() != 0, "no executor was removed: the kill did not happen");
      assertTrue(retriedAt.get() != 0, "no stage was retried after the executor's loss");
      return new Loss(fetchFailures.get(), Math.max(0, (retriedAt.get() - removedAt.get()) / 1_000_000));
    } finally {
      sc.stop();
      Files.deleteIfExists(arena);
    }
  }
}
