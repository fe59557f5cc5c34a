package io.vrdma.bench.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.bench.cli.BadFlag;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The separate-hosts flags (benchmarks/hosts/run-hosts.sh) and the settings they give each variant; no Spark runs. */
class ShuffleJobBenchmarkFlagsTest {
  private static final String[] HOSTS = {"--cluster", "hosts", "--master", "spark://198.18.0.2:7077",
      "--bound-master", "spark://198.18.0.2:7078", "--driver-host", "198.18.0.2", "--executor-class-path", "/p.jar",
      "--compress", "false", "--links", "unshaped,1gbit", "--link-command", "true"};

  @Test
  void localByDefaultWithSparksCompression() {
    ShuffleJobBenchmark.Options o = ShuffleJobBenchmark.parse(new String[] {});
    assertNull(o.hosts());
    assertNull(o.compress());
    SparkConf c = ShuffleJobBenchmark.conf(o, "stock", Path.of("/dev/shm/x"));
    assertTrue(c.get("spark.master").startsWith("local-cluster[2,1,"));
    assertTrue(!c.contains("spark.shuffle.compress"));
  }

  @Test
  void hostsSendsTheBoundToItsOwnMasterAndTheOthersToTheWorkersHosts() {
    ShuffleJobBenchmark.Options o = ShuffleJobBenchmark.parse(HOSTS);
    assertEquals(List.of("unshaped", "1gbit"), o.hosts().links());
    Path arena = Path.of(ShuffleJobBenchmark.HOSTS_ARENA);
    SparkConf bound = ShuffleJobBenchmark.conf(o, "stock-hostlocal", arena);
    assertEquals("spark://198.18.0.2:7078", bound.get("spark.master"));
    assertEquals("true", bound.get("spark.shuffle.readHostLocalDisk"));
    SparkConf shm = ShuffleJobBenchmark.conf(o, "vrdma-shm", arena);
    assertEquals("spark://198.18.0.2:7077", shm.get("spark.master"));
    assertEquals("198.18.0.2", shm.get("spark.driver.host"));
    assertEquals("/p.jar", shm.get("spark.executor.extraClassPath"));
    assertEquals("false", shm.get("spark.shuffle.compress"));
    assertEquals("2", shm.get("spark.cores.max"));
    assertEquals("/dev/shm/vrdma-arena", shm.get("spark.shuffle.vrdma.transport.shm.arenaPath"));
    assertEquals("tcp", ShuffleJobBenchmark.conf(o, "vrdma-tcp", arena).get("spark.shuffle.vrdma.transport.tiers"));
  }

  @Test
  void hostsFlagsAreCheckedTogether() {
    assertThrows(BadFlag.class, () -> ShuffleJobBenchmark.parse(new String[] {"--cluster", "hosts"}));
    assertThrows(BadFlag.class, () -> ShuffleJobBenchmark.parse(new String[] {"--master", "spark://a:7077"}));
    assertThrows(BadFlag.class, () -> ShuffleJobBenchmark.parse(new String[] {"--cluster", "hosts", "--master",
        "spark://a:7077", "--driver-host", "a", "--links", "1gbit"}));
    assertThrows(BadFlag.class, () -> ShuffleJobBenchmark.parse(new String[] {"--compress", "maybe"}));
  }

  @Test
  void warmUpCountsForBothClustersAndOneApplicationOnlyForTheLocalOne() {
    ShuffleJobBenchmark.Options local = ShuffleJobBenchmark.parse(new String[] {"--warmup", "2", "--one-app"});
    assertEquals(2, local.warmup());
    assertTrue(local.oneApp());
    ShuffleJobBenchmark.Options plain = ShuffleJobBenchmark.parse(new String[] {});
    assertEquals(0, plain.warmup(), "the local cluster warms up only when asked");
    assertTrue(!plain.oneApp());
    assertEquals(1, ShuffleJobBenchmark.parse(HOSTS).warmup(), "a hosts application runs one full job untimed first");
    String[] hostsWithWarmUp = java.util.Arrays.copyOf(HOSTS, HOSTS.length + 2);
    hostsWithWarmUp[HOSTS.length] = "--warmup";
    hostsWithWarmUp[HOSTS.length + 1] = "3";
    assertEquals(3, ShuffleJobBenchmark.parse(hostsWithWarmUp).warmup());
    String[] hostsOneApp = java.util.Arrays.copyOf(HOSTS, HOSTS.length + 1);
    hostsOneApp[HOSTS.length] = "--one-app";
    BadFlag e = assertThrows(BadFlag.class, () -> ShuffleJobBenchmark.parse(hostsOneApp));
    assertTrue(e.getMessage().contains("local cluster"), e.getMessage());
    assertThrows(BadFlag.class, () -> ShuffleJobBenchmark.parse(new String[] {"--warmup", "-1"}));
  }
}
