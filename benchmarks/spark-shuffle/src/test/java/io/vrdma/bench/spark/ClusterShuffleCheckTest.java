package io.vrdma.bench.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.bench.cli.BadFlag;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/**
 * The verdict of the cluster check (the cluster itself runs in docker/run-cluster-test.sh): which runs pass and
 * what each failure says.
 */
class ClusterShuffleCheckTest {
  private static final ClusterShuffleCheck.Options SHM = new ClusterShuffleCheck.Options(1000, 100, 4, 2, "shm", 10);

  private static ClusterShuffleCheck.Run stock(long checksum) {
    return new ClusterShuffleCheck.Run("stock", checksum, 1, 5000, Set.of("10.0.0.2", "10.0.0.3"), Map.of(),
        Map.of());
  }

  private static ClusterShuffleCheck.Run vrdma(long checksum, long remote, Map<String, Long> counters,
      String... hosts) {
    return new ClusterShuffleCheck.Run("vrdma", checksum, 1, remote, Set.of(hosts), counters,
        Map.of("0", "10.0.0.2:4000 shm,tcp", "1", "10.0.0.3:4000 shm,tcp"));
  }

  private static Map<String, Long> counters(long shm, long tcp) {
    Map<String, Long> c = new HashMap<>();
    c.put("bytes.shm", shm);
    c.put("bytes.verbs", 0L);
    c.put("bytes.tcp", tcp);
    c.put("sparkFallbackBlocks", 0L);
    c.put("failures", 0L);
    return c;
  }

  @Test
  void passesWhenChecksumsAgreeAndEveryRemoteByteWentOverTheExpectedTier() {
    assertEquals(List.of(), ClusterShuffleCheck.check(SHM, stock(7),
        vrdma(7, 4000, counters(4000, 0), "10.0.0.2", "10.0.0.3")));
  }

  @Test
  void failsOnADifferentChecksum() {
    List<String> f = ClusterShuffleCheck.check(SHM, stock(7), vrdma(8, 4000, counters(4000, 0), "10.0.0.2",
        "10.0.0.3"));
    assertEquals(1, f.size(), f.toString());
    assertTrue(f.get(0).startsWith("checksums differ"), f.get(0));
  }

  @Test
  void failsWhenBytesWentOverAnotherTierOrSparksOwnClient() {
    Map<String, Long> c = counters(3000, 1000);
    c.put("sparkFallbackBlocks", 2L);
    List<String> f = ClusterShuffleCheck.check(SHM, stock(7), vrdma(7, 4000, c, "10.0.0.2", "10.0.0.3"));
    assertTrue(f.contains("vrdma: 3000 bytes over shm, but Spark counted 4000 remote shuffle bytes"), f.toString());
    assertTrue(f.contains("vrdma: 1000 bytes over tcp, expected all over shm"), f.toString());
    assertTrue(f.contains("vrdma: sparkFallbackBlocks = 2"), f.toString());
  }

  @Test
  void failsWhenTheExecutorsSharedAHostOrMovedNothing() {
    List<String> f = ClusterShuffleCheck.check(SHM, stock(7), vrdma(7, 0, counters(0, 0), "10.0.0.2"));
    assertTrue(f.contains("vrdma: executors on [10.0.0.2], not on 2 distinct hosts"), f.toString());
    assertTrue(f.contains("vrdma: no shuffle bytes crossed between executors"), f.toString());
  }

  @Test
  void failsWhenThePluginReportedNothing() {
    List<String> f = ClusterShuffleCheck.check(SHM, stock(7), vrdma(7, 4000, Map.of(), "10.0.0.2", "10.0.0.3"));
    assertTrue(f.get(f.size() - 1).contains("no executor reported block client counters"), f.toString());
  }

  @Test
  void stockRunDropsOurManagerAndIoPlugin() {
    SparkConf conf = new SparkConf(false).set("spark.shuffle.manager", "io.vrdma.spark.VrdmaShuffleManager")
        .set("spark.shuffle.sort.io.plugin.class", "io.vrdma.spark.VrdmaShuffleDataIO");
    SparkConf stock = ClusterShuffleCheck.stock(conf);
    assertEquals("sort", stock.get("spark.shuffle.manager"));
    assertTrue(!stock.contains("spark.shuffle.sort.io.plugin.class"));
  }

  @Test
  void badFlagsAndAMissingMasterExitWith2() throws Exception {
    assertThrows(BadFlag.class, () -> ClusterShuffleCheck.parse(new String[] {
        "--expect-tier", "rdma"}));
    assertThrows(BadFlag.class, () -> ClusterShuffleCheck.parse(new String[] {"--records", "0"}));
    assertEquals("tcp", ClusterShuffleCheck.parse(new String[] {"--expect-tier", "tcp"}).expectTier());
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String previous = System.clearProperty("spark.master");
    try {
      assertEquals(2, ClusterShuffleCheck.run(new String[0], new PrintStream(new ByteArrayOutputStream(), true,
          StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)));
    } finally {
      if (previous != null) {
        System.setProperty("spark.master", previous);
      }
    }
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("no spark.master"), err.toString(StandardCharsets.UTF_8));
  }
}
