package io.vrdma.bench.spark;

import io.vrdma.bench.cli.BadFlag;
import io.vrdma.bench.cli.Cli;
import io.vrdma.bench.cli.Flags;
import io.vrdma.spark.VrdmaDriverEndpoint;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkExecutorInfo;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The synthetic shuffle job of {@link ShuffleJobBenchmark} on a real cluster (a standalone master, its workers on
 * other hosts or containers), submitted with {@code spark-submit} in client mode: once with Spark's stock sort
 * shuffle, then with the settings it was submitted with (the image's {@code spark-defaults.conf}: our manager).
 * It checks that both runs read the same records back (count and checksum), that the executors ran on distinct
 * hosts and moved shuffle bytes between them, and that in the vRDMA run every remote byte went over the expected
 * tier (the block clients' counters, summed by {@link VrdmaDriverEndpoint}). Prints one line per run, one line
 * per failed check and {@code RESULT PASS} or {@code RESULT FAIL}; exit 0 on pass, 1 on a failed check or job, 2
 * for bad flags. {@code docker/run-cluster-test.sh} runs it in the cluster of {@code docker/compose.yaml}.
 */
public final class ClusterShuffleCheck {
  private static final String USAGE = String.join("\n",
      "usage: spark-submit --class io.vrdma.bench.spark.ClusterShuffleCheck <this jar> [flags]",
      "  --records N       records shuffled (default 100000)",
      "  --value-bytes N   bytes per value (default 1024)",
      "  --partitions N    map and reduce partitions (default 8)",
      "  --executors N     executors to wait for, each on its own host (default 2)",
      "  --expect-tier T   shm, verbs or tcp: the tier that must carry every remote byte of the vRDMA run"
          + " (default shm)",
      "  --wait-s N        seconds to wait for the executors (default 120)",
      "Exit 0 when every check passes, 1 when one fails, 2 for bad flags.");
  private static final List<String> TIERS = List.of("shm", "verbs", "tcp");

  private ClusterShuffleCheck() {}

  record Options(long records, int valueBytes, int partitions, int executors, String expectTier, int waitSeconds) {}

  /** What one run saw. */
  record Run(String name, long checksum, double wallSeconds, long remoteRead, Set<String> hosts,
      Map<String, Long> counters, Map<String, String> servers) {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** The options, or null when help was asked for. */
  static Options parse(String[] args) {
    long records = 100_000;
    int valueBytes = 1024;
    int partitions = 8;
    int executors = 2;
    String expectTier = "shm";
    int waitSeconds = 120;
    Flags f = new Flags(args);
    while (f.next()) {
      switch (f.flag()) {
        case "--records" -> records = f.positiveLong();
        case "--value-bytes" -> valueBytes = f.positiveInt();
        case "--partitions" -> partitions = f.positiveInt();
        case "--executors" -> executors = f.positiveInt();
        case "--wait-s" -> waitSeconds = f.positiveInt();
        case "--expect-tier" -> expectTier = f.oneOf(TIERS);
        default -> throw f.unknown();
      }
    }
    return f.helpRequested() ? null : new Options(records, valueBytes, partitions, executors, expectTier, waitSeconds);
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    return Cli.run(args, USAGE, out, err, ClusterShuffleCheck::parse, o -> runBoth(o, out, err));
  }

  /** The stock run, then the vRDMA run, then the checks; the exit code. */
  private static int runBoth(Options o, PrintStream out, PrintStream err) {
    SparkConf submitted = new SparkConf();
    if (!submitted.contains("spark.master")) {
      throw new BadFlag("no spark.master: submit with spark-submit --master spark://<host>:7077");
    }
    try {
      // stock first: the vRDMA run's driver endpoint is then the only one this JVM has seen
      Run stock = runOne(o, "stock", stock(submitted.clone()));
      Run vrdma = runOne(o, "vrdma", submitted.clone());
      for (Run r : List.of(stock, vrdma)) {
        out.printf(Locale.ROOT, "%s: checksum %016x, %.2f s, remote shuffle bytes %d, executor hosts %s%s%n",
            r.name(), r.checksum(), r.wallSeconds(), r.remoteRead(), r.hosts(),
            r.counters().isEmpty() ? "" : ", block client counters " + r.counters() + ", block servers "
                + r.servers());
      }
      List<String> failures = check(o, stock, vrdma);
      for (String f : failures) {
        out.println("CHECK FAILED: " + f);
      }
      out.println(failures.isEmpty() ? "RESULT PASS: same records and checksum with stock and vRDMA shuffle; "
          + vrdma.counters().get("bytes." + o.expectTier()) + " remote bytes over " + o.expectTier()
          + " between " + vrdma.hosts().size() + " hosts" : "RESULT FAIL");
      return failures.isEmpty() ? 0 : 1;
    } catch (Exception e) {
      out.println("RESULT FAIL: job failed: " + e);
      e.printStackTrace(err);
      return 1;
    }
  }

  /** The submitted settings with Spark's own sort shuffle in place of ours. */
  static SparkConf stock(SparkConf conf) {
    conf.set("spark.shuffle.manager", "sort");
    conf.remove("spark.shuffle.sort.io.plugin.class");
    return conf;
  }

  /** Every check the two runs must pass; empty when all pass. */
  static List<String> check(Options o, Run stock, Run vrdma) {
    List<String> failures = new ArrayList<>();
    if (stock.checksum() != vrdma.checksum()) {
      failures.add(String.format(Locale.ROOT, "checksums differ: stock %016x, vrdma %016x", stock.checksum(),
          vrdma.checksum()));
    }
    for (Run r : List.of(stock, vrdma)) {
      if (r.hosts().size() < o.executors()) {
        failures.add(r.name() + ": executors on " + r.hosts() + ", not on " + o.executors() + " distinct hosts");
      }
      if (r.remoteRead() <= 0) {
        failures.add(r.name() + ": no shuffle bytes crossed between executors");
      }
    }
    Map<String, Long> c = vrdma.counters();
    if (c.isEmpty()) {
      failures.add("vrdma: no executor reported block client counters: is spark.shuffle.manager our manager?");
      return failures;
    }
    long expected = c.getOrDefault("bytes." + o.expectTier(), 0L);
    if (expected != vrdma.remoteRead()) {
      failures.add("vrdma: " + expected + " bytes over " + o.expectTier() + ", but Spark counted "
          + vrdma.remoteRead() + " remote shuffle bytes");
    }
    for (String tier : TIERS) {
      if (!tier.equals(o.expectTier()) && c.getOrDefault("bytes." + tier, 0L) != 0) {
        failures.add("vrdma: " + c.get("bytes." + tier) + " bytes over " + tier + ", expected all over "
            + o.expectTier());
      }
    }
    for (String zero : List.of("sparkFallbackBlocks", "failures")) {
      if (c.getOrDefault(zero, 0L) != 0) {
        failures.add("vrdma: " + zero + " = " + c.get(zero));
      }
    }
    if (vrdma.servers().size() < o.executors()) {
      failures.add("vrdma: block servers registered by " + vrdma.servers().keySet() + ", expected "
          + o.executors());
    }
    return failures;
  }

  static Run runOne(Options o, String name, SparkConf conf) throws Exception {
    conf.setAppName("ClusterShuffleCheck-" + name)
        .setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .set("spark.default.parallelism", Integer.toString(o.partitions()));
    JavaSparkContext sc = new JavaSparkContext(conf);
    try {
      SparkVariants.MetricsListener listener = new SparkVariants.MetricsListener();
      sc.sc().addSparkListener(listener);
      long deadline = System.nanoTime() + o.waitSeconds() * 1_000_000_000L;
      while (sc.sc().getExecutorMemoryStatus().size() < o.executors() + 1) { // + the driver's block manager
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(name + ": " + (sc.sc().getExecutorMemoryStatus().size() - 1)
              + " executor(s) registered within " + o.waitSeconds() + " s, expected " + o.executors());
        }
        Thread.sleep(100);
      }
      VrdmaDriverEndpoint endpoint = VrdmaDriverEndpoint.current();
      long start = System.nanoTime();
      long checksum = ShuffleJobBenchmark.job(sc, o.records(), o.valueBytes(), o.partitions());
      double wall = (System.nanoTime() - start) / 1e9;
      sc.sc().listenerBus().waitUntilEmpty();
      Set<String> hosts = new TreeSet<>();
      String driverHost = sc.getConf().get("spark.driver.host", "");
      for (SparkExecutorInfo e : sc.sc().statusTracker().getExecutorInfos()) {
        if (!e.host().equals(driverHost)) {
          hosts.add(e.host());
        }
      }
      Map<String, Long> counters = new TreeMap<>();
      Map<String, String> servers = new TreeMap<>();
      if (endpoint != null && "io.vrdma.spark.VrdmaShuffleManager".equals(conf.get("spark.shuffle.manager", ""))) {
        for (String key : List.of("bytes.shm", "bytes.verbs", "bytes.tcp", "blocks.shm", "blocks.verbs",
            "blocks.tcp", "tierFallbacks", "retries", "sparkFallbackBlocks", "failures")) {
          counters.put(key, endpoint.total(key));
        }
        servers.putAll(endpoint.executors());
      }
      return new Run(name, checksum, wall, listener.remoteRead.get(), hosts, counters, servers);
    } finally {
      sc.stop();
    }
  }
}
