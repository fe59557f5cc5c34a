package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/**
 * Shuffles many times larger than the executors' shared arena (16 MiB): the arena is a transfer window, not a
 * store, so every remote byte still moves over shm — in one shuffle eight times its size, and in each of ten
 * consecutive shuffles whose predecessors stay registered (the stale-shuffle case of a long-lived application).
 */
class WindowedShmShuffleTest extends ClusterTest {
  private static final long ARENA = 16L << 20;

  @Override
  protected SparkConf configure(SparkConf conf) {
    return conf.set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.shuffle.vrdma.transport.shm.arenaBytes", Long.toString(ARENA))
        .set("spark.shuffle.compress", "false")
        .set("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
  }

  /** {@code records} values of {@code bytes} bytes each, keyed over {@code keys} keys, made in the tasks. */
  private JavaPairRDD<Integer, byte[]> records(int maps, int records, int bytes, int keys, int salt) {
    return sc.parallelize(IntStream.range(0, maps).boxed().collect(Collectors.toList()), maps)
        .flatMapToPair(m -> {
          List<Tuple2<Integer, byte[]>> out = new ArrayList<>();
          for (int i = m; i < records; i += maps) {
            byte[] v = new byte[bytes];
            java.util.Arrays.fill(v, (byte) (i * 31 + salt));
            v[0] = (byte) i;
            out.add(new Tuple2<>(i % keys, v));
          }
          return out.iterator();
        });
  }

  /** Spark's own shuffle metrics over the tasks of the jobs {@code run} runs. */
  private record ShuffleBytes(long written, long remoteRead) {}

  private ShuffleBytes shuffleBytes(Runnable run) throws Exception {
    AtomicLong written = new AtomicLong();
    AtomicLong remote = new AtomicLong();
    SparkListener listener = new SparkListener() {
      @Override
      public void onTaskEnd(SparkListenerTaskEnd end) {
        if (end.taskMetrics() != null) {
          written.addAndGet(end.taskMetrics().shuffleWriteMetrics().bytesWritten());
          remote.addAndGet(end.taskMetrics().shuffleReadMetrics().remoteBytesRead());
        }
      }
    };
    sc.sc().addSparkListener(listener);
    try {
      run.run();
      sc.sc().listenerBus().waitUntilEmpty();
    } finally {
      sc.sc().removeSparkListener(listener);
    }
    return new ShuffleBytes(written.get(), remote.get());
  }

  /** Checks a sum of value bytes per key against the same sum computed here. */
  private void shuffleAndCheck(int maps, int records, int bytes, int keys, int salt) {
    // the values themselves cross the shuffle; the sums are taken on the reduce side, in the same partitions
    List<Tuple2<Integer, Long>> sums = records(maps, records, bytes, keys, salt)
        .partitionBy(new org.apache.spark.HashPartitioner(8))
        .mapValues(v -> {
          long s = 0;
          for (byte b : v) {
            s += b;
          }
          return s;
        })
        .reduceByKey(Long::sum, 8).collect();
    long[] expected = new long[keys];
    for (int i = 0; i < records; i++) {
      byte[] v = new byte[bytes];
      java.util.Arrays.fill(v, (byte) (i * 31 + salt));
      v[0] = (byte) i;
      long s = 0;
      for (byte b : v) {
        s += b;
      }
      expected[i % keys] += s;
    }
    assertEquals(keys, sums.size());
    for (Tuple2<Integer, Long> t : sums) {
      assertEquals(expected[t._1()], t._2(), "sum of key " + t._1());
    }
  }

  @Test
  void aShuffleEightTimesTheArenaMovesEveryRemoteByteOverShm() throws Exception {
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    driver.resetCounters();
    // 160 MB of 4 KiB values, no reduce-side combining: ten times the arena in the shuffle files
    ShuffleBytes bytes = shuffleBytes(() -> shuffleAndCheck(8, 40_000, 4096, 97, 1));
    // how much is remote depends on where the tasks ran: about half, here at least two arenas
    assertTrue(bytes.written() > 8 * ARENA, "shuffle of " + bytes.written() + " bytes is eight arenas");
    assertTrue(bytes.remoteRead() > 2 * ARENA, "remote bytes " + bytes.remoteRead() + " are several arenas");
    assertEquals(bytes.remoteRead(), driver.total("bytes.shm"), "every remote byte over shm; " + driver.totals());
    assertEquals(0, driver.total("bytes.tcp"));
    assertEquals(0, driver.total("sparkFallbackBlocks"));
    assertEquals(0, driver.total("stage.windowFallbackBlocks"));
  }

  @Test
  void tenConsecutiveShufflesEachLargerThanTheArenaEachMoveEveryRemoteByteOverShm() throws Exception {
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    for (int round = 0; round < 10; round++) {
      driver.resetCounters();
      int salt = round;
      // 40 MB each; the earlier shuffles stay registered (their RDDs are unreachable, the cleaner may come late)
      ShuffleBytes bytes = shuffleBytes(() -> shuffleAndCheck(6, 10_000, 4096, 31, salt));
      assertTrue(bytes.written() > 2 * ARENA, "round " + round + ": the shuffle of " + bytes.written()
          + " bytes is larger than the arena");
      assertTrue(bytes.remoteRead() > 0, "round " + round + ": something was read remotely");
      assertEquals(bytes.remoteRead(), driver.total("bytes.shm"), "round " + round + ": every remote byte over shm; "
          + driver.totals());
      assertEquals(0, driver.total("bytes.tcp"), "round " + round);
    }
  }
}
