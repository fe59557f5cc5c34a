package io.vrdma.bench.spark;

import io.vrdma.bench.cli.BadFlag;
import io.vrdma.bench.cli.Cli;
import io.vrdma.bench.cli.Flags;
import io.vrdma.spark.VrdmaDriverEndpoint;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.shm.SharedArena;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.package$;
import scala.Tuple2;

/**
 * One Spark shuffle job timed in a {@code local-cluster[2,1,<mem>]} for each configuration: N records of an
 * N-byte pseudo-random (incompressible) value, hash-partitioned into P partitions and read back with a checksum.
 * Each round starts a fresh SparkContext per configuration (rounds interleaved across configurations), waits for
 * both executors, runs one small untimed warm-up shuffle, then times the job's wall clock, the executor JVMs'
 * process CPU time, and sums the task CPU time and the shuffle bytes of its tasks (task metrics). Prints a markdown table and
 * writes it to {@code <out>/spark-shuffle-benchmark.md}.
 *
 * <p>The executors inherit the driver's class path ({@code spark.testing} and a {@code spark.test.home} with an
 * empty {@code jars/}), so launch with {@code java -cp <runtime class path>}: {@code mvn -q -pl
 * benchmarks/spark-shuffle exec:exec -Dbench.args="..."}. Exit 0 whatever the numbers (a MISSED line per missed
 * target), 2 for bad flags, 1 when a job fails or the checksums differ.
 */
public final class ShuffleJobBenchmark {
  static final String REPORT_MD = "spark-shuffle-benchmark.md";
  /** One line per round and config, for reports that combine runs (benchmarks/hosts: one run per link speed). */
  public static final String REPORT_CSV = "spark-shuffle-benchmark.csv";
  /** The arena's path as the executors of a separate-hosts cluster see it (their host's /dev/shm). */
  static final String HOSTS_ARENA = "/dev/shm/vrdma-arena";
  static final List<String> CONFIGS = SparkVariants.ALL;

  private static final String USAGE = String.join("\n",
      "usage: ShuffleJobBenchmark [flags]   (mvn -q -pl benchmarks/spark-shuffle exec:exec -Dbench.args=\"flags\")",
      "  --records N       records shuffled (default 1000000)",
      "  --value-bytes N   bytes per value (default 1024)",
      "  --partitions N    map and reduce partitions (default 16)",
      "  --rounds N        timed rounds per config, interleaved (default 3)",
      "  --warmup N        untimed rounds of every config before the timed ones (local cluster: default 0; the",
      "                    first rounds of a run are slower for every config, so medians depend on order. hosts:",
      "                    full-size jobs each variant's application runs untimed first, after a small one; default",
      "                    1, and the timed rounds still speed up after it as the executors' JIT warms)",
      "  --one-app         local cluster: each config's application lives for its warm-up and timed rounds, the",
      "                    configs one after another (default: a fresh application per round, interleaved): no timed",
      "                    round then includes a fresh executor JVM's JIT warm-up",
      "  --configs LIST    of " + String.join(",", CONFIGS) + " (default all)",
      "  --executor-mb N   memory per executor of local-cluster[2,1,N] (default 3072)",
      "  --out DIR         where " + REPORT_MD + " and " + REPORT_CSV + " go (default benchmark-results)",
      "  --compress B      spark.shuffle.compress true|false (default: Spark's, true); false makes it shuffle-bound",
      "  --cluster C       local (local-cluster[2,1,MB], default) or hosts: a standalone cluster of separate hosts",
      "                    (network namespaces) that benchmarks/hosts/run-hosts.sh starts and describes with:",
      "    --master URL              spark://... of the two worker hosts (stock, vrdma-shm, vrdma-tcp)",
      "    --bound-master URL        spark://... of the two workers on one host (stock-hostlocal)",
      "    --driver-host IP          this driver's address on the hosts' network",
      "    --executor-class-path CP  spark.executor.extraClassPath (the plugin jar and this job's jar)",
      "    --arena-dir DIR           the co-resident hosts' /dev/shm as this JVM sees it (the arena is backed there",
      "                              before the first round)",
      "    --link TEXT               the link emulation, for the report (e.g. 10gbit)",
      "    --links LIST              link emulations to time in each application, in turn (each variant's",
      "                              application then lives for all rounds and links: start-ups are slow here)",
      "    --link-command CMD        sets a link emulation: run as sh -c 'CMD <link>' before its jobs",
      "  --help            this text",
      "Targets: vrdma-shm wall <= 0.70 x stock and <= 1.05 x stock-hostlocal, CPU s/GB <= 0.6 x stock;",
      "         vrdma-tcp wall <= 1.0 x stock.",
      "Exit 0 whatever the numbers (MISSED lines name missed targets), 2 for bad flags, 1 when a job fails.");

  private ShuffleJobBenchmark() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  record Options(long records, int valueBytes, int partitions, int rounds, List<String> configs, int executorMb,
      Path out, String compress, Hosts hosts, int warmup, boolean oneApp) {
    Options(long records, int valueBytes, int partitions, int rounds, List<String> configs, int executorMb,
        Path out) {
      this(records, valueBytes, partitions, rounds, configs, executorMb, out, null, null, 0, false);
    }
  }

  /**
   * A standalone cluster of separate hosts (benchmarks/hosts/run-hosts.sh): the two worker hosts' master, the
   * bound's master (two workers on one host, one local dir), the driver's address, the executors' extra class
   * path, the co-resident hosts' /dev/shm as this JVM sees it, and the link emulation's name.
   */
  record Hosts(String master, String boundMaster, String driverHost, String executorClassPath, Path arenaDir,
      String link, List<String> links, String linkCommand) {
    Hosts withLink(String l) {
      return new Hosts(master, boundMaster, driverHost, executorClassPath, arenaDir, l, links, linkCommand);
    }
  }

  /**
   * One timed job. {@code processCpuNanos}: CPU time of the executor JVMs as the OS counts it (every thread:
   * tasks, Spark's and our transfer threads, GC, JIT); {@code taskCpuNanos}: the task threads' CPU time only
   * (Spark's task metrics), which leaves out whatever moves blocks outside tasks.
   */
  record Round(double wallSeconds, long processCpuNanos, long taskCpuNanos, long shuffleWritten, long shuffleRead,
      long remoteRead, long checksum, long shmBytes, long tcpBytes) {}

  /** The options, or null when help was asked for. */
  static Options parse(String[] args) {
    long records = 1_000_000;
    int valueBytes = 1024;
    int partitions = 16;
    int rounds = 3;
    int warmup = -1; // unset: 0 on the local cluster, 1 on hosts
    boolean oneApp = false;
    int executorMb = 3072;
    List<String> configs = CONFIGS;
    Path out = Path.of("benchmark-results");
    String compress = null;
    String cluster = "local";
    String master = null;
    String boundMaster = null;
    String driverHost = null;
    String executorClassPath = "";
    Path arenaDir = null;
    String link = "";
    List<String> links = List.of();
    String linkCommand = null;
    Flags f = new Flags(args);
    while (f.next()) {
      switch (f.flag()) {
        case "--records" -> records = f.positiveLong();
        case "--value-bytes" -> valueBytes = f.positiveInt();
        case "--partitions" -> partitions = f.positiveInt();
        case "--rounds" -> rounds = f.positiveInt();
        case "--warmup" -> warmup = f.intAtLeast(0);
        case "--one-app" -> oneApp = true;
        case "--executor-mb" -> executorMb = f.positiveInt();
        case "--out" -> out = f.path();
        case "--configs" -> configs = f.names(CONFIGS);
        case "--compress" -> compress = f.oneOf(List.of("true", "false"));
        case "--cluster" -> cluster = f.oneOf(List.of("local", "hosts"));
        case "--master" -> master = f.value();
        case "--bound-master" -> boundMaster = f.value();
        case "--driver-host" -> driverHost = f.value();
        case "--executor-class-path" -> executorClassPath = f.value();
        case "--arena-dir" -> arenaDir = f.path();
        case "--link" -> link = f.value();
        case "--links" -> links = f.list();
        case "--link-command" -> linkCommand = f.value();
        default -> throw f.unknown();
      }
    }
    Hosts hosts = null;
    if (cluster.equals("hosts")) {
      if (master == null || driverHost == null) {
        throw new BadFlag("--cluster hosts needs --master and --driver-host (benchmarks/hosts/run-hosts.sh gives them)");
      }
      if (configs.contains("stock-hostlocal") && boundMaster == null) {
        throw new BadFlag("--cluster hosts with stock-hostlocal needs --bound-master");
      }
      if (!links.isEmpty() && linkCommand == null) {
        throw new BadFlag("--links needs --link-command (the command that sets a link emulation, given its name)");
      }
      hosts = new Hosts(master, boundMaster, driverHost, executorClassPath, arenaDir, link, links, linkCommand);
    } else if (master != null || boundMaster != null || driverHost != null || arenaDir != null) {
      throw new BadFlag("--master, --bound-master, --driver-host and --arena-dir go with --cluster hosts");
    }
    if (hosts != null && oneApp) {
      throw new BadFlag("--one-app is for the local cluster: with --cluster hosts each variant's application lives"
          + " for all its rounds");
    }
    if (warmup < 0) {
      warmup = hosts != null ? 1 : 0;
    }
    return f.helpRequested() ? null : new Options(records, valueBytes, partitions, rounds, configs, executorMb, out,
        compress, hosts, warmup, oneApp);
  }

  /** Runs the benchmark; returns the exit code (also for {@code TpcdsBenchmark --job synthetic}). */
  public static int run(String[] args, PrintStream stdout, PrintStream stderr) {
    return Cli.run(args, USAGE, stdout, stderr, ShuffleJobBenchmark::parse, o -> benchmark(o, stdout, stderr));
  }

  private static int benchmark(Options o, PrintStream stdout, PrintStream stderr) throws Exception {
    Map<String, List<Round>> results = new LinkedHashMap<>();
    for (String c : o.configs()) {
      results.put(c, new ArrayList<>());
    }
    if (o.hosts() != null) {
      // the executors map HOSTS_ARENA in their hosts' /dev/shm, which this JVM sees as --arena-dir; the arena
      // outlives the run as a host's would (run-hosts.sh removes the hosts' folders at the end)
      if (o.configs().contains("vrdma-shm") && o.hosts().arenaDir() != null) {
        prepareArena(o.hosts().arenaDir().resolve(Path.of(HOSTS_ARENA).getFileName()), stderr);
      }
      if (!o.hosts().links().isEmpty()) {
        return benchmarkLinks(o, stdout, stderr);
      }
      runRounds(o, Path.of(HOSTS_ARENA), results, stderr);
    } else {
      SparkVariants.prepareSparkHome();
      Path arena = Path.of("/dev/shm", "vrdma-spark-bench-" + UUID.randomUUID());
      try {
        if (o.configs().contains("vrdma-shm")) {
          prepareArena(arena, stderr);
        }
        runRounds(o, arena, results, stderr);
      } finally {
        Files.deleteIfExists(arena);
      }
    }
    long checksum = results.values().iterator().next().get(0).checksum();
    for (Map.Entry<String, List<Round>> e : results.entrySet()) {
      for (Round round : e.getValue()) {
        if (round.checksum() != checksum) {
          stderr.printf(Locale.ROOT, "error: checksum of %s %016x differs from %016x%n", e.getKey(),
              round.checksum(), checksum);
          return 1;
        }
      }
    }
    String md = report(o, results, checksum);
    stdout.print(md);
    Files.createDirectories(o.out());
    Files.writeString(o.out().resolve(REPORT_MD), md, StandardCharsets.UTF_8);
    Files.writeString(o.out().resolve(REPORT_CSV), csv(o, results), StandardCharsets.UTF_8);
    for (String line : md.split("\n")) {
      if (line.startsWith("| ") && line.endsWith("| no |")) {
        stdout.println("MISSED: " + line);
      }
    }
    return 0;
  }

  /**
   * Separate hosts, several link emulations: one application per variant, living for every round and link (a
   * standalone application's start-up costs tens of seconds on a busy 2-core machine); within it, each round
   * times the job once per link, the links' order rotating per round. One markdown table per link, one CSV.
   */
  private static int benchmarkLinks(Options o, PrintStream stdout, PrintStream stderr) throws Exception {
    List<String> links = o.hosts().links();
    Map<String, Map<String, List<Round>>> byLink = new LinkedHashMap<>();
    for (String l : links) {
      Map<String, List<Round>> m = new LinkedHashMap<>();
      o.configs().forEach(c -> m.put(c, new ArrayList<>()));
      byLink.put(l, m);
    }
    String current = null;
    try {
      for (String c : o.configs()) {
        JavaSparkContext sc = new JavaSparkContext(conf(o, c, Path.of(HOSTS_ARENA)));
        try {
          SparkVariants.MetricsListener listener = new SparkVariants.MetricsListener();
          sc.sc().addSparkListener(listener);
          SparkVariants.awaitExecutors(sc.sc(), 2, 300);
          // warm-up, untimed: a small shuffle, then one of full size (the first full job of a fresh application
          // pays for JIT compilation and connection set-up: measured here 1.5-2 x the next)
          job(sc, Math.min(o.records(), 4L * o.partitions() * 256), o.valueBytes(), o.partitions());
          setLink(o.hosts().linkCommand(), links.get(0), stderr);
          current = links.get(0);
          for (int w = 0; w < o.warmup(); w++) {
            job(sc, o.records(), o.valueBytes(), o.partitions());
          }
          for (int r = 0; r < o.rounds(); r++) {
            for (int k = 0; k < links.size(); k++) {
              String l = links.get((k + r) % links.size());
              if (!l.equals(current)) {
                setLink(o.hosts().linkCommand(), l, stderr);
                current = l;
              }
              Round round = timedJob(sc, listener, o, c);
              byLink.get(l).get(c).add(round);
              log(stderr, "round " + (r + 1) + " link " + l, c, round);
            }
          }
        } finally {
          sc.stop();
        }
      }
    } finally {
      if (current != null && !current.equals(links.get(0))) {
        setLink(o.hosts().linkCommand(), links.get(0), stderr);
      }
    }
    long checksum = byLink.values().iterator().next().values().iterator().next().get(0).checksum();
    StringBuilder md = new StringBuilder();
    StringBuilder csv = new StringBuilder();
    for (Map.Entry<String, Map<String, List<Round>>> e : byLink.entrySet()) {
      for (Map.Entry<String, List<Round>> ce : e.getValue().entrySet()) {
        for (Round round : ce.getValue()) {
          if (round.checksum() != checksum) {
            stderr.printf(Locale.ROOT, "error: checksum of %s at link %s %016x differs from %016x%n", ce.getKey(),
                e.getKey(), round.checksum(), checksum);
            return 1;
          }
        }
      }
      Options lo = new Options(o.records(), o.valueBytes(), o.partitions(), o.rounds(), o.configs(), o.executorMb(),
          o.out(), o.compress(), o.hosts().withLink(e.getKey()), 0, false);
      md.append(report(lo, e.getValue(), checksum)).append('\n');
      String rows = csv(lo, e.getValue());
      csv.append(csv.length() == 0 ? rows : rows.substring(rows.indexOf('\n') + 1));
    }
    stdout.print(md);
    Files.createDirectories(o.out());
    Files.writeString(o.out().resolve(REPORT_MD), md, StandardCharsets.UTF_8);
    Files.writeString(o.out().resolve(REPORT_CSV), csv, StandardCharsets.UTF_8);
    for (String line : md.toString().split("\n")) {
      if (line.startsWith("| ") && line.endsWith("| no |")) {
        stdout.println("MISSED: " + line);
      }
    }
    return 0;
  }

  /** Runs {@code sh -c '<command> <link>'} and waits; a failure to set the link fails the run. */
  static void setLink(String command, String link, PrintStream stderr) throws Exception {
    Process p = new ProcessBuilder("sh", "-c", command + " " + link).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("setting link " + link + " failed: " + output);
    }
    stderr.println("link emulation: " + link + (output.isEmpty() ? "" : " (" + output + ")"));
  }

  private static void log(PrintStream stderr, String what, String c, Round round) {
    stderr.printf(Locale.ROOT, "%s %s: %.2f s, executor process CPU %.2f s (tasks %.2f s), shuffle"
        + " written %d B, read %d B (remote %d B; tier shm %d B, tcp %d B), checksum %016x%n", what, c,
        round.wallSeconds(), round.processCpuNanos() / 1e9, round.taskCpuNanos() / 1e9,
        round.shuffleWritten(), round.shuffleRead(), round.remoteRead(), round.shmBytes(), round.tcpBytes(),
        round.checksum());
  }

  private static void runRounds(Options o, Path arena, Map<String, List<Round>> results, PrintStream stderr)
      throws Exception {
    if (o.oneApp()) {
      runRoundsInOneApp(o, arena, results, stderr);
      return;
    }
    for (int w = 0; w < o.warmup(); w++) {
      for (String c : o.configs()) {
        log(stderr, "warm-up " + (w + 1) + " (untimed)", c, runOne(o, c, arena));
      }
    }
    for (int r = 0; r < o.rounds(); r++) {
      for (String c : o.configs()) {
        Round round = runOne(o, c, arena);
        results.get(c).add(round);
        log(stderr, "round " + (r + 1), c, round);
      }
    }
  }

  /** {@code --one-app}: per config, one application for its warm-up jobs and then its timed rounds. */
  private static void runRoundsInOneApp(Options o, Path arena, Map<String, List<Round>> results, PrintStream stderr)
      throws Exception {
    for (String c : o.configs()) {
      SparkVariants.MetricsListener listener = new SparkVariants.MetricsListener();
      JavaSparkContext sc = startWarm(conf(o, c, arena), listener, o.records(), o.valueBytes(), o.partitions(), 120);
      try {
        for (int w = 0; w < o.warmup(); w++) {
          log(stderr, "warm-up " + (w + 1) + " (untimed)", c, timedJob(sc, listener, o, c));
        }
        for (int r = 0; r < o.rounds(); r++) {
          Round round = timedJob(sc, listener, o, c);
          results.get(c).add(round);
          log(stderr, "round " + (r + 1), c, round);
        }
      } finally {
        sc.stop();
      }
    }
  }

  /**
   * Creates the shm rounds' arena and backs its pages before any round: one arena for the whole run, as a host's
   * arena file outlives the applications that use it, so that no timed job pays the first touch of its pages.
   */
  static void prepareArena(Path arena, PrintStream stderr) throws TransportException {
    prepareArena(arena, SparkVariants.BENCH_ARENA_BYTES, stderr);
  }

  /** As {@link #prepareArena(Path, PrintStream)} with an arena of {@code arenaBytes} (a Spark size, "128m"). */
  static void prepareArena(Path arena, String arenaBytes, PrintStream stderr) throws TransportException {
    long start = System.nanoTime();
    Map<String, String> settings = new HashMap<>();
    settings.put(TransportConf.SHM_ARENA_PATH.name(), arena.toString());
    settings.put(TransportConf.SHM_ARENA_BYTES.name(), arenaBytes);
    try (SharedArena a = SharedArena.attach(TransportConf.fromMap(settings))) {
      a.preallocate();
    }
    stderr.printf(Locale.ROOT, "shm arena %s (%s) created and backed in %.1f s%n",
        arena, arenaBytes, (System.nanoTime() - start) / 1e9);
  }

  static SparkConf conf(Options o, String config, Path arena) {
    SparkConf conf = conf("ShuffleJobBenchmark-" + config, o.partitions(), o.executorMb(), config, arena,
        SparkVariants.BENCH_ARENA_BYTES);
    if (o.compress() != null) {
      conf.set("spark.shuffle.compress", o.compress());
    }
    Hosts h = o.hosts();
    if (h != null) {
      // two executors of one core each, as local-cluster[2,1,MB]: one per worker (each worker offers one core)
      conf.setMaster(config.equals("stock-hostlocal") ? h.boundMaster() : h.master())
          .set("spark.driver.host", h.driverHost())
          .set("spark.driver.bindAddress", h.driverHost())
          .set("spark.executor.memory", o.executorMb() + "m")
          .set("spark.executor.cores", "1")
          .set("spark.cores.max", "2")
          .set("spark.executor.extraClassPath", h.executorClassPath());
    }
    return conf;
  }

  /**
   * The benchmark's application: {@code local-cluster[2,1,executorMb]}, Kryo, {@code partitions} as the default
   * parallelism, and the shuffle of {@code config} ({@link SparkVariants#apply}) with an arena of
   * {@code arenaBytes}.
   */
  static SparkConf conf(String appName, int partitions, int executorMb, String config, Path arena,
      String arenaBytes) {
    SparkConf conf = new SparkConf()
        .setMaster("local-cluster[2,1," + executorMb + "]")
        .setAppName(appName)
        .set("spark.ui.enabled", "false")
        .set("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .set("spark.default.parallelism", Integer.toString(partitions));
    return SparkVariants.apply(conf, config, arena, arenaBytes);
  }

  static Round runOne(Options o, String config, Path arena) throws Exception {
    SparkVariants.MetricsListener listener = new SparkVariants.MetricsListener();
    JavaSparkContext sc = startWarm(conf(o, config, arena), listener, o.records(), o.valueBytes(), o.partitions(),
        o.hosts() == null ? 120 : 300);
    try {
      return timedJob(sc, listener, o, config);
    } finally {
      sc.stop();
    }
  }

  /** One timed job in a running application (after its warm-up). */
  static Round timedJob(JavaSparkContext sc, SparkVariants.MetricsListener listener, Options o, String config)
      throws Exception {
    sc.sc().listenerBus().waitUntilEmpty();
    listener.reset();

    VrdmaDriverEndpoint endpoint = SparkVariants.isOurs(config) ? VrdmaDriverEndpoint.current() : null;
    if (endpoint != null) {
      endpoint.resetCounters();
    }
    String appId = sc.sc().applicationId();
    long cpuBefore = o.hosts() == null ? executorProcessCpuNanos() : standaloneExecutorCpuNanos(appId);
    long start = System.nanoTime();
    long checksum = job(sc, o.records(), o.valueBytes(), o.partitions());
    double wall = (System.nanoTime() - start) / 1e9;
    long processCpu = (o.hosts() == null ? executorProcessCpuNanos() : standaloneExecutorCpuNanos(appId))
        - cpuBefore;
    sc.sc().listenerBus().waitUntilEmpty();
    long shm = endpoint == null ? 0 : endpoint.total("bytes.shm");
    long tcp = endpoint == null ? 0 : endpoint.total("bytes.tcp");
    return new Round(wall, processCpu, listener.cpuNanos.get(), listener.shuffleWritten.get(),
        listener.shuffleRead.get(), listener.remoteRead.get(), checksum, shm, tcp);
  }

  /**
   * Starts the application with {@code listener} registered, waits for both executors, and runs one small untimed
   * warm-up shuffle through the same code (so that no timed job pays class loading and connection set-up).
   */
  static JavaSparkContext startWarm(SparkConf conf, SparkVariants.MetricsListener listener, long records,
      int valueBytes, int partitions) throws Exception {
    return startWarm(conf, listener, records, valueBytes, partitions, 120);
  }

  /** As above, waiting up to {@code awaitSeconds} for the executors (a standalone cluster starts them slower). */
  static JavaSparkContext startWarm(SparkConf conf, SparkVariants.MetricsListener listener, long records,
      int valueBytes, int partitions, int awaitSeconds) throws Exception {
    JavaSparkContext sc = new JavaSparkContext(conf);
    try {
      sc.sc().addSparkListener(listener);
      SparkVariants.awaitExecutors(sc.sc(), 2, awaitSeconds);
      job(sc, Math.min(records, 4L * partitions * 256), valueBytes, partitions);
      sc.sc().listenerBus().waitUntilEmpty();
      listener.reset();
      return sc;
    } catch (Throwable e) {
      sc.stop();
      throw e;
    }
  }

  /** Times one job on a started application: wall clock, executor process CPU and the listener's sums. */
  static Round timedJob(JavaSparkContext sc, SparkVariants.MetricsListener listener, long records, int valueBytes,
      int partitions) throws Exception {
    long cpuBefore = executorProcessCpuNanos();
    long start = System.nanoTime();
    long checksum = job(sc, records, valueBytes, partitions);
    double wall = (System.nanoTime() - start) / 1e9;
    long processCpu = executorProcessCpuNanos() - cpuBefore;
    sc.sc().listenerBus().waitUntilEmpty();
    // the tier bytes are the caller's to count (WindowBenchmark reads the driver's counters itself)
    Round round = new Round(wall, processCpu, listener.cpuNanos.get(), listener.shuffleWritten.get(),
        listener.shuffleRead.get(), listener.remoteRead.get(), checksum, 0, 0);
    listener.reset();
    return round;
  }

  /**
   * CPU time so far of the executor JVMs: local-cluster's workers run in this JVM and start each executor as a
   * child process, so the executors are this process's descendants (the OS's per-process count, all threads).
   */
  static long executorProcessCpuNanos() {
    return ProcessHandle.current().descendants()
        .filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false))
        .mapToLong(p -> p.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L)).sum();
  }

  /**
   * CPU time so far of the executor JVMs of application {@code appId} on a standalone cluster on this machine:
   * the workers start them, not this JVM, but they share this machine's process table (network namespaces
   * separate the network only), so they are found by their command line.
   */
  static long standaloneExecutorCpuNanos(String appId) {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().map(c -> c.contains("CoarseGrainedExecutorBackend")
            && c.contains(appId)).orElse(false))
        .mapToLong(p -> p.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L)).sum();
  }

  /** One line per round and config: what a combining report (benchmarks/hosts) needs. */
  static String csv(Options o, Map<String, List<Round>> results) {
    StringBuilder b = new StringBuilder("cluster,link,compress,records,value_bytes,partitions,config,round,wall_s,"
        + "executor_cpu_s,task_cpu_s,shuffle_written_bytes,shuffle_read_bytes,remote_read_bytes,shm_tier_bytes,"
        + "tcp_tier_bytes,checksum\n");
    for (Map.Entry<String, List<Round>> e : results.entrySet()) {
      int i = 1;
      for (Round r : e.getValue()) {
        b.append(String.format(Locale.ROOT, "%s,%s,%s,%d,%d,%d,%s,%d,%.3f,%.3f,%.3f,%d,%d,%d,%d,%d,%016x%n",
            o.hosts() == null ? "local" : "hosts", o.hosts() == null ? "" : o.hosts().link().replace(',', ' '),
            o.compress() == null ? "true" : o.compress(), o.records(), o.valueBytes(), o.partitions(), e.getKey(),
            i++, r.wallSeconds(), r.processCpuNanos() / 1e9, r.taskCpuNanos() / 1e9, r.shuffleWritten(),
            r.shuffleRead(), r.remoteRead(), r.shmBytes(), r.tcpBytes(), r.checksum()));
      }
    }
    return b.toString();
  }

  /** The value of record i: deterministic pseudo-random bytes (incompressible, so the codec cannot shrink them). */
  static byte[] value(long i, int valueBytes) {
    byte[] v = new byte[valueBytes];
    // seeded by a hash of i: seeds i * gamma would give record i+1 record i's stream shifted by 8 bytes, which
    // the shuffle codec (LZ4, 64 KiB window) would compress about 6 x
    new SplittableRandom(new SplittableRandom(i).nextLong()).nextBytes(v);
    return v;
  }

  /** Order-independent checksum of one record: its key and every byte of its value. */
  static long recordChecksum(long key, byte[] v) {
    ByteBuffer b = ByteBuffer.wrap(v);
    long h = key * 0xC2B2AE3D27D4EB4FL + v.length;
    while (b.remaining() >= 8) {
      h = h * 31 + b.getLong();
    }
    while (b.hasRemaining()) {
      h = h * 31 + b.get();
    }
    return h ^ (h >>> 29);
  }

  /** Generates the records in the map tasks, hash-partitions them, and sums the record checksums. */
  static long job(JavaSparkContext sc, long records, int valueBytes, int partitions) {
    List<Integer> slices = IntStream.range(0, partitions).boxed().collect(Collectors.toList());
    long[] sumAndCount = sc.parallelize(slices, partitions)
        .flatMapToPair(p -> {
          long from = records * p / partitions;
          long to = records * (p + 1) / partitions;
          return new Iterator<Tuple2<Long, byte[]>>() {
            long next = from;

            @Override
            public boolean hasNext() {
              return next < to;
            }

            @Override
            public Tuple2<Long, byte[]> next() {
              long i = next++;
              return new Tuple2<>(i, value(i, valueBytes));
            }
          };
        })
        .partitionBy(new HashPartitioner(partitions))
        .mapPartitionsWithIndex((index, it) -> {
          long sum = 0;
          long count = 0;
          HashPartitioner check = new HashPartitioner(partitions);
          while (it.hasNext()) {
            Tuple2<Long, byte[]> t = it.next();
            if (check.getPartition(t._1()) != index) {
              throw new IllegalStateException("key " + t._1() + " in partition " + index);
            }
            sum += recordChecksum(t._1(), t._2());
            count++;
          }
          return List.of(new long[] {sum, count}).iterator();
        }, true)
        .reduce((x, y) -> new long[] {x[0] + y[0], x[1] + y[1]});
    if (sumAndCount[1] != records) {
      throw new IllegalStateException(sumAndCount[1] + " records read back, " + records + " written");
    }
    return sumAndCount[0];
  }

  static double median(double[] xs) {
    double[] s = xs.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  static String report(Options o, Map<String, List<Round>> results, long checksum) {
    Map<String, Double> wall = new LinkedHashMap<>();
    Map<String, Double> cpuPerGb = new LinkedHashMap<>();
    Map<String, Double> taskCpuPerGb = new LinkedHashMap<>();
    Map<String, Double> gb = new LinkedHashMap<>();
    for (Map.Entry<String, List<Round>> e : results.entrySet()) {
      List<Round> rs = e.getValue();
      wall.put(e.getKey(), median(rs.stream().mapToDouble(Round::wallSeconds).toArray()));
      cpuPerGb.put(e.getKey(), median(rs.stream()
          .mapToDouble(r -> (r.processCpuNanos() / 1e9) / Math.max(1e-9, r.shuffleWritten() / 1e9)).toArray()));
      taskCpuPerGb.put(e.getKey(), median(rs.stream()
          .mapToDouble(r -> (r.taskCpuNanos() / 1e9) / Math.max(1e-9, r.shuffleWritten() / 1e9)).toArray()));
      gb.put(e.getKey(), median(rs.stream().mapToDouble(r -> r.shuffleWritten() / 1e9).toArray()));
    }
    Double stockWall = wall.get("stock");
    Double stockCpu = cpuPerGb.get("stock");
    Double hostWall = wall.get("stock-hostlocal");
    StringBuilder md = new StringBuilder();
    String cluster = o.hosts() == null ? String.format(Locale.ROOT, "local-cluster[2,1,%d]", o.executorMb())
        : String.format(Locale.ROOT, "standalone, 2 executors of 1 core and %d MB on separate hosts (network"
            + " namespaces), link %s", o.executorMb(), o.hosts().link().isEmpty() ? "?" : o.hosts().link());
    md.append(String.format(Locale.ROOT, "Spark %s (Scala %s): %d records x %d B values, %d partitions,"
        + " spark.shuffle.compress=%s, %s, %d round(s)%s; median per config%n%n",
        package$.MODULE$.SPARK_VERSION(), SparkVariants.scalaBinaryVersion(), o.records(), o.valueBytes(),
        o.partitions(), o.compress() == null ? "true" : o.compress(), cluster, o.rounds(),
        (o.warmup() > 0 ? " after " + o.warmup() + " untimed warm-up round(s) of each" : "")
            + (o.oneApp() ? ", one application per config for all its rounds" : "")));
    md.append("| config | shuffled GB | wall s | ratio vs stock | CPU s/GB | ratio | task CPU s/GB | target | met? |\n");
    md.append("|---|---:|---:|---:|---:|---:|---:|---|---|\n");
    for (String c : results.keySet()) {
      double w = wall.get(c);
      double cpu = cpuPerGb.get(c);
      String wr = stockWall == null ? "-" : fmt(w / stockWall);
      String cr = stockCpu == null ? "-" : fmt(cpu / stockCpu);
      String target;
      String met;
      switch (c) {
        case "stock" -> {
          target = "(baseline)";
          met = "-";
        }
        case "stock-hostlocal" -> {
          target = "(bound: no transfer)";
          met = "-";
        }
        case "vrdma-shm" -> {
          if (o.hosts() != null) {
            // issue 18's target for separate hosts: at the no-transfer bound, at every link speed
            target = "wall <= 1.05 x stock-hostlocal (the bound)";
            met = hostWall == null ? "n/a" : w <= 1.05 * hostWall ? "yes" : "no";
            break;
          }
          target = "wall <= 0.70 x stock, <= 1.05 x host-local; CPU/GB <= 0.6 x stock";
          if (stockWall == null || hostWall == null || stockCpu == null) {
            met = "n/a";
          } else {
            met = w <= 0.70 * stockWall && w <= 1.05 * hostWall && cpu <= 0.6 * stockCpu ? "yes" : "no";
          }
        }
        default -> {
          target = "wall <= 1.0 x stock";
          met = stockWall == null ? "n/a" : w <= stockWall ? "yes" : "no";
        }
      }
      md.append(String.format(Locale.ROOT, "| %s | %.3f | %.2f | %s | %.2f | %s | %.2f | %s | %s |%n", c, gb.get(c),
          w, wr, cpu, cr, taskCpuPerGb.get(c), target, met));
    }
    if (stockWall != null && hostWall != null && wall.containsKey("vrdma-shm")) {
      md.append(String.format(Locale.ROOT, "%nvrdma-shm: wall %.2f x stock, %.2f x host-local; CPU/GB %.2f x stock%n",
          wall.get("vrdma-shm") / stockWall, wall.get("vrdma-shm") / hostWall,
          cpuPerGb.get("vrdma-shm") / stockCpu));
    }
    md.append(String.format(Locale.ROOT, "%nAll rounds' checksums equal: %016x. Wall s: job wall clock;"
        + " CPU s/GB: CPU time of the two executor JVMs during the job (every thread, as the OS counts it) per GB"
        + " of shuffle bytes written (GB = 10^9 B); task CPU s/GB: the task threads' share of it (task metrics).%n",
        checksum));
    return md.toString();
  }

  private static String fmt(double x) {
    return String.format(Locale.ROOT, "%.2f", x);
  }
}
