package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/**
 * With our own CRC check off, corrupt shm reads reach Spark: its fetch iterator must catch them on its own
 * ({@code spark.shuffle.detectCorrupt}: the LZ4 stream's checksums), refetch through our client or retry the
 * stage, and the job's result stays exact. Proves our buffers plug into Spark's corruption path, not around it.
 */
class SparkDetectsCorruptionTest extends ClusterTest {
  /** Spark's warning when it catches a corrupt block and fetches it again. */
  private static final String SPARK_REFETCH_WARNING = "got an corrupted block";
  /** Spark's fetch failure when a block is corrupt again (the stage is then retried). */
  private static final String SPARK_FETCH_FAILURE = "is corrupted due to";

  @Override
  protected SparkConf configure(SparkConf conf) {
    return conf
        .set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.shuffle.vrdma.block.checksum", "false")
        // the faults hit tier reads: small runs must not come inline in the locate answers, which no tier reads
        .set("spark.shuffle.vrdma.block.client.inlineBytes", "0")
        .set("spark.shuffle.vrdma.transport.fault.tier", "shm")
        .set("spark.shuffle.vrdma.transport.fault.corruptEvery", "10")
        .set("spark.io.compression.codec", "lz4")
        .set("spark.shuffle.detectCorrupt", "true")
        // check whole blocks as they arrive (refetch once), rather than fail the stage mid-read
        .set("spark.shuffle.detectCorrupt.useExtraMemory", "true");
  }

  @Test
  void corruptBlocksThatPassOurLayerAreCaughtBySpark() {
    VrdmaDriverEndpoint.current().resetCounters();
    int n = 40_000;
    Map<Integer, Long> expected = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      expected.merge(i % 1009, (long) i * 7, Long::sum);
    }
    List<Integer> numbers = IntStream.range(0, n).boxed().collect(Collectors.toList());
    Map<Integer, Long> actual;
    try {
      actual = new TreeMap<>(sc.parallelize(numbers, 8)
          .mapToPair(i -> new Tuple2<>(i % 1009, (long) i * 7))
          .reduceByKey(Long::sum, 12)
          .collectAsMap());
    } catch (Exception e) { // Spark's SparkException is checked, thrown unchecked from Scala
      // the executors' own account is in their logs, which go when the cluster stops
      throw new AssertionError("job failed; executors logged:\n" + String.join("\n",
          LocalCluster.executorLogLines(sc.sc().applicationId(), " ").stream()
              .filter(l -> !l.startsWith("\tat ") && !l.startsWith("Caused by")).limit(200).toList()), e);
    }
    assertEquals(expected, actual);
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    assertTrue(driver.total("bytes.shm") > 0, "no bytes over shm: nothing was corrupted");
    assertEquals(0, driver.total("corruptRefetches"), "our layer checked blocks although its CRC is off");
    String app = sc.sc().applicationId();
    List<String> caught = new java.util.ArrayList<>(LocalCluster.executorLogLines(app, SPARK_REFETCH_WARNING));
    caught.addAll(LocalCluster.executorLogLines(app, SPARK_FETCH_FAILURE));
    assertFalse(caught.isEmpty(), "Spark caught no corrupt block although every 10th shm read was corrupted");
  }
}
