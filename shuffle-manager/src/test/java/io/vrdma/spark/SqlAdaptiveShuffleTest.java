package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Spark SQL with adaptive execution on the two-executor cluster: coalesced partitions (read as batches of
 * contiguous blocks, or one by one with batch fetch off) and a skew join (map-index-range reads), each equal to
 * the same computation in plain Java and read through our client over shm.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SqlAdaptiveShuffleTest {
  private Path arena;
  private SparkSession spark;

  @BeforeAll
  void startCluster() {
    arena = LocalCluster.arenaPath();
    SparkConf conf = LocalCluster.conf(getClass().getSimpleName(), arena)
        .set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.sql.adaptive.enabled", "true")
        .set("spark.sql.shuffle.partitions", "40")
        .set("spark.sql.autoBroadcastJoinThreshold", "-1")
        .set("spark.io.compression.codec", "snappy")
        // a reader may hold little of a peer's window: a batch's parts must not wait on each other for it; a part
        // that did would wait out stage.wait (30 s here, far above the test's own few seconds)
        .set("spark.shuffle.vrdma.block.stage.maxBytesPerPeer", "256k")
        .set("spark.shuffle.vrdma.block.stage.wait", "30s")
        .set("spark.shuffle.vrdma.transport.readTimeout", "60s");
    LocalCluster.start(conf);
    spark = SparkSession.builder().getOrCreate();
  }

  @AfterAll
  void stopCluster() throws Exception {
    if (spark != null) {
      spark.stop();
    }
    Files.deleteIfExists(arena);
  }

  @BeforeEach
  void resetCounters() {
    VrdmaDriverEndpoint.current().resetCounters();
  }

  private Map<Long, Long> sumsByKey(Dataset<Row> rows) {
    Map<Long, Long> out = new TreeMap<>();
    for (Row row : rows.collectAsList()) {
      out.put(row.getLong(0), row.getLong(1));
    }
    return out;
  }

  private static Map<Long, Long> expectedSums(long n, long keys) {
    Map<Long, Long> out = new TreeMap<>();
    for (long i = 0; i < n; i++) {
      out.merge(i % keys, i, Long::sum);
    }
    return out;
  }

  private void assertReadThroughUs() {
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    assertTrue(driver.total("bytes.shm") > 0, "no bytes over shm");
    assertEquals(0, driver.total("sparkFallbackBlocks"), "blocks read through Spark's client");
  }

  private Dataset<Row> aggregate(long n, long keys) {
    return spark.range(0, n, 1, 6).selectExpr("id % " + keys + " AS k", "id AS v").groupBy("k")
        .agg(org.apache.spark.sql.functions.sum("v")).orderBy("k");
  }

  @Test
  void coalescedPartitionsWithBatchFetch() {
    spark.conf().set("spark.sql.adaptive.fetchShuffleBlocksInBatch", "true");
    Dataset<Row> result = aggregate(200_000, 97);
    assertEquals(expectedSums(200_000, 97), sumsByKey(result));
    String plan = result.queryExecution().executedPlan().toString();
    assertTrue(plan.contains("coalesced"), plan);
    assertReadThroughUs();
    assertTrue(VrdmaDriverEndpoint.current().total("batches") > 0, "no batch of contiguous blocks was read");
  }

  @Test
  void aBatchLargerThanTheReadersShareOfTheWindowIsReadOverShmWithoutWaiting() {
    spark.conf().set("spark.sql.adaptive.fetchShuffleBlocksInBatch", "true");
    // 6 map outputs of ~2 MB, 40 partitions coalesced into one: each map's batch is ~8 times the 256 KiB the reader
    // may hold of the peer's window at once
    Dataset<Row> rows = spark.range(0, 60_000, 1, 6)
        .selectExpr("id", "repeat(cast(id AS string), 20) AS payload")
        .repartition(org.apache.spark.sql.functions.col("id")) // spark.sql.shuffle.partitions (40), which AQE coalesces
        .selectExpr("sum(id)", "sum(length(payload))");
    long start = System.nanoTime();
    Row r = rows.collectAsList().get(0);
    double seconds = (System.nanoTime() - start) / 1e9;
    long expectedLength = 0;
    for (long i = 0; i < 60_000; i++) {
      expectedLength += 20L * Long.toString(i).length();
    }
    assertEquals(60_000L * 59_999 / 2, r.getLong(0));
    assertEquals(expectedLength, r.getLong(1));
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    assertTrue(driver.total("batches") > 0, "no batch of contiguous blocks was read");
    assertEquals(0, driver.total("bytes.tcp"), "every batch part over shm: " + driver.totals());
    assertEquals(0, driver.total("stage.windowFallbackBlocks"), driver.totals().toString());
    assertTrue(seconds < 20, "no part waited out vrdma.block.stage.wait (30 s): " + seconds + " s");
  }

  @Test
  void coalescedPartitionsWithoutBatchFetch() {
    spark.conf().set("spark.sql.adaptive.fetchShuffleBlocksInBatch", "false");
    try {
      assertEquals(expectedSums(100_000, 61), sumsByKey(aggregate(100_000, 61)));
      assertReadThroughUs();
      assertEquals(0, VrdmaDriverEndpoint.current().total("batches"));
    } finally {
      spark.conf().set("spark.sql.adaptive.fetchShuffleBlocksInBatch", "true");
    }
  }

  @Test
  void skewJoinSplitsTheSkewedPartition() {
    spark.conf().set("spark.sql.adaptive.skewJoin.enabled", "true");
    spark.conf().set("spark.sql.adaptive.skewJoin.skewedPartitionFactor", "2");
    spark.conf().set("spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes", "32k");
    spark.conf().set("spark.sql.adaptive.advisoryPartitionSizeInBytes", "32k");
    spark.conf().set("spark.sql.adaptive.coalescePartitions.enabled", "false");
    try {
      // key 0 holds half of the 20 000 left rows; the right side has each key 0..99 twice
      Dataset<Row> left = spark.range(0, 20_000, 1, 6).selectExpr("IF(id % 2 = 0, 0, id % 100) AS k", "id AS v");
      Dataset<Row> right = spark.range(0, 200, 1, 2).selectExpr("id % 100 AS k", "id AS w");
      Dataset<Row> joined = left.join(right, "k").selectExpr("count(*)", "sum(v + w)");
      Row row = joined.collectAsList().get(0);
      long count = 0;
      long sum = 0;
      for (long id = 0; id < 20_000; id++) {
        long k = id % 2 == 0 ? 0 : id % 100;
        for (long w = 0; w < 200; w++) {
          if (w % 100 == k) {
            count++;
            sum += id + w;
          }
        }
      }
      assertEquals(count, row.getLong(0));
      assertEquals(sum, row.getLong(1));
      String plan = joined.queryExecution().executedPlan().toString();
      assertTrue(plan.contains("isSkewJoin=true") || plan.contains("skew=true"), plan);
      assertReadThroughUs();
    } finally {
      spark.conf().unset("spark.sql.adaptive.skewJoin.skewedPartitionFactor");
      spark.conf().unset("spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes");
      spark.conf().unset("spark.sql.adaptive.advisoryPartitionSizeInBytes");
      spark.conf().unset("spark.sql.adaptive.coalescePartitions.enabled");
    }
  }

  @Test
  void joinTurnedIntoBroadcastReadsItsShuffleLocally() {
    // planned as a sort-merge join (the filtered side's static estimate is large); after its shuffle the side
    // is tiny, AQE broadcasts it and reads the other side's shuffle output with the local shuffle reader
    spark.conf().set("spark.sql.autoBroadcastJoinThreshold", "2k");
    try {
      Dataset<Row> big = spark.range(0, 50_000, 1, 6).selectExpr("id % 1000 AS k", "id AS v");
      Dataset<Row> small = spark.range(0, 100_000, 1, 4).filter("id < 20").selectExpr("id AS k", "id * 2 AS w");
      Dataset<Row> joined = big.join(small, "k").selectExpr("count(*)", "sum(v + w)");
      Row row = joined.collectAsList().get(0);
      long count = 0;
      long sum = 0;
      for (long id = 0; id < 50_000; id++) {
        long k = id % 1000;
        if (k < 20) {
          count++;
          sum += id + k * 2;
        }
      }
      assertEquals(count, row.getLong(0));
      assertEquals(sum, row.getLong(1));
      String plan = joined.queryExecution().executedPlan().toString();
      assertTrue(plan.contains("BroadcastHashJoin") && plan.contains("local"), plan);
    } finally {
      spark.conf().set("spark.sql.autoBroadcastJoinThreshold", "-1");
    }
  }
}
