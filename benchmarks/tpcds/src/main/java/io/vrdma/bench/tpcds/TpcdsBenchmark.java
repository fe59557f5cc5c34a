package io.vrdma.bench.tpcds;

import io.vrdma.bench.cli.BadFlag;
import io.vrdma.bench.cli.Cli;
import io.vrdma.bench.cli.Flags;
import io.vrdma.bench.spark.ShuffleJobBenchmark;
import io.vrdma.bench.spark.SparkVariants;
import io.vrdma.bench.spark.WindowBenchmark;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

/**
 * The main job: TPC-DS queries on Spark {@code local-cluster[2,1,<mb>]} under stock shuffle and our manager on shm
 * and on tcp, the same data and session settings (AQE on), interleaved, rows compared, a report written.
 *
 * <p>How it interleaves: a JVM holds one SparkContext and the shuffle manager is fixed when the context starts, so
 * each variant gets its own driver JVM ({@link VariantDriver}, with its two executors) for the whole run, started
 * once and in parallel. For every round and every query the coordinator runs the query on each variant in turn,
 * rotating which goes first, so a noisy minute on the shared machine hits all variants alike, and no variant pays
 * for more context start-ups than another. Only one query runs at a time; the idle drivers cost memory, not CPU.
 *
 * <p>Data: {@code io.trino.tpcds} 1.4 written as Parquet under {@code --cache} (one folder per scale factor),
 * generated on first use, only the tables the chosen queries read; or an existing folder given by {@code --data}.
 * Queries: Spark 3.5.9's own TPC-DS texts. By default one untimed warm-up round, then three timed rounds, so that
 * the report can state a spread and decide a target only where the spread allows ({@link Spread#verdict}). Exit 0 whatever the timings (MISSED lines name missed targets), 2 for
 * bad flags or a missing data folder or table, 1 when a query fails or its rows differ between shuffles.
 */
public final class TpcdsBenchmark {
  static final List<String> DEFAULT_VARIANTS = List.of("stock", "vrdma-shm", "vrdma-tcp");
  /**
   * Timed rounds by default: three give a median and a min–max spread, the fewest from which a verdict can be read
   * on a noisy machine (one round's noise decided the verdicts before).
   */
  static final int DEFAULT_ROUNDS = 3;
  /** Untimed rounds by default: one, so that class loading, JIT and first connections are not timed. */
  static final int DEFAULT_WARMUP = 1;
  /** What {@code --job} takes. */
  private static final List<String> JOBS = List.of("tpcds", "synthetic", "window", "hosts-report");

  private static final String USAGE = String.join("\n",
      "usage: java @benchmarks/tpcds/target/tpcds.args [flags]",
      "       java @benchmarks/tpcds/target/tpcds.args --job synthetic [ShuffleJobBenchmark flags]",
      "       java @benchmarks/tpcds/target/tpcds.args --job window [WindowBenchmark flags]",
      "TPC-DS on Spark local-cluster[2,1,MB]: stock shuffle vs ours on shm and tcp, interleaved, rows compared.",
      "  --scale SF             TPC-DS scale factor, fractional allowed (default 0.1)",
      "  --queries LIST|all     query names, e.g. q3,q64 (default " + String.join(",", TpcdsQueries.DEFAULT) + ");",
      "                         all: all 103 of Spark's TPC-DS v1.4 queries that the data supports",
      "  --rounds N             timed rounds; per query and shuffle the median and min-max are reported, and",
      "                         a target verdict only where they decide it (default " + DEFAULT_ROUNDS + ")",
      "  --warmup N             untimed rounds of all queries before the timed ones (default " + DEFAULT_WARMUP + ")",
      "  --variants LIST        of " + String.join(",", SparkVariants.ALL) + " (default "
          + String.join(",", DEFAULT_VARIANTS) + ")",
      "  --cache DIR            generated data goes to DIR/sf<SF>, reused next time (default ~/.cache/vrdma-tpcds)",
      "  --data DIR             use existing Parquet data in DIR/<table>/ instead (never generated; must exist)",
      "  --gen-threads N        threads of the local Spark that generates data (default: available processors)",
      "  --executor-mb N        memory per executor of local-cluster[2,1,N] (default 2048)",
      "  --driver-mb N          heap of each variant's driver JVM (default 1536)",
      "  --shuffle-partitions N spark.sql.shuffle.partitions, AQE coalesces them (default 200, Spark's default)",
      "  --arena SIZE           shm arena per application for our shm tier, Spark size (default "
          + SparkVariants.BENCH_ARENA_BYTES + ")",
      "  --out DIR              where tpcds-report.md/.csv/.png and logs/ go (default benchmark-results/tpcds)",
      "  --job tpcds|synthetic|window  synthetic: the ~1 GB shuffle job of benchmarks/spark-shuffle instead;",
      "                         window: that job larger and smaller than the shm arena (WindowBenchmark); the",
      "                         flags after it are that job's (--job window --help lists them); must come first",
      "  --job hosts-report     the report of benchmarks/hosts/run-hosts.sh (--job hosts-report --help)",
      "  --cluster local|hosts  hosts: a standalone cluster of separate hosts that benchmarks/hosts/run-hosts.sh",
      "                         starts (--job tpcds) and describes with --master URL, --bound-master URL (for",
      "                         stock-hostlocal), --driver-host IP, --executor-class-path CP (default local)",
      "  --help                 this text",
      "Targets: total time of vrdma-shm <= 0.90 x stock; no query of vrdma-shm slower than 1.05 x stock;",
      "met when even vrdma-shm's slowest round is within the target of stock's fastest, MISSED when even its",
      "fastest is beyond it of stock's slowest, otherwise undecided (the rounds' spread overlaps the target).",
      "Exit 0 whatever the timings (MISSED lines name missed targets), 2 for bad flags or missing data,",
      "1 when a query fails or returns different rows under different shuffles.");

  private TpcdsBenchmark() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Parsed flags. {@code data} is null unless {@code --data} was given. */
  record Options(double scale, List<String> queries, boolean allQueries, int rounds, int warmup,
      List<String> variants, Path cache, Path data, int genThreads, int executorMb, int driverMb,
      int shufflePartitions, String arena, Path out, Map<String, String> hosts) {
    Options(double scale, List<String> queries, boolean allQueries, int rounds, int warmup,
        List<String> variants, Path cache, Path data, int genThreads, int executorMb, int driverMb,
        int shufflePartitions, String arena, Path out) {
      this(scale, queries, allQueries, rounds, warmup, variants, cache, data, genThreads, executorMb, driverMb,
          shufflePartitions, arena, out, null);
    }

    /**
     * The Spark settings that put {@code variant}'s application on the separate-hosts cluster (null: local-
     * cluster): the bound on its own master (two workers on one host), the others on the two worker hosts, one
     * core per executor, two executors, the arena at the path the workers' hosts share.
     */
    String hostSettings(String variant) {
      if (hosts == null) {
        return null;
      }
      return String.join("|", "spark.master=" + (variant.equals("stock-hostlocal") ? hosts.get("bound-master")
              : hosts.get("master")),
          "spark.driver.host=" + hosts.get("driver-host"), "spark.driver.bindAddress=" + hosts.get("driver-host"),
          "spark.executor.memory=" + executorMb + "m", "spark.executor.cores=1", "spark.cores.max=2",
          "spark.executor.extraClassPath=" + hosts.get("executor-class-path"),
          "spark.shuffle.vrdma.transport.shm.arenaPath=/dev/shm/vrdma-arena");
    }
    /** Where the data is read from: {@code --data}, else the cache folder of the scale factor. */
    Path dataDir() {
      return data != null ? data : cache.resolve(TpcdsData.scaleName(scale));
    }
  }

  /** The options, or null when help was asked for. */
  static Options parse(String[] args) {
    double scale = 0.1;
    List<String> queries = TpcdsQueries.DEFAULT;
    boolean all = false;
    int rounds = DEFAULT_ROUNDS;
    int warmup = DEFAULT_WARMUP;
    List<String> variants = DEFAULT_VARIANTS;
    Path cache = Path.of(System.getProperty("user.home"), ".cache", "vrdma-tpcds");
    Path data = null;
    int genThreads = Runtime.getRuntime().availableProcessors();
    int executorMb = 2048;
    int driverMb = 1536;
    int shufflePartitions = 200;
    String arena = SparkVariants.BENCH_ARENA_BYTES;
    Path out = Path.of("benchmark-results", "tpcds");
    String cluster = "local";
    Map<String, String> hosts = new LinkedHashMap<>();
    Flags f = new Flags(args);
    while (f.next()) {
      switch (f.flag()) {
        case "--scale" -> {
          String value = f.value();
          try {
            scale = Double.parseDouble(value);
          } catch (NumberFormatException e) {
            throw f.bad("is not a number: " + value);
          }
          if (!(scale > 0) || scale > 100_000) {
            throw f.bad("must be > 0 and <= 100000: " + value);
          }
        }
        case "--queries" -> {
          List<String> named = f.list();
          all = named.equals(List.of("all"));
          queries = TpcdsQueries.ordered(new LinkedHashSet<>(all ? TpcdsQueries.ALL
              : f.allKnown(named, TpcdsQueries.ALL)));
        }
        case "--variants" -> variants = f.names(SparkVariants.ALL);
        case "--rounds" -> rounds = f.positiveInt();
        case "--warmup" -> warmup = f.intAtLeast(0);
        case "--cache" -> cache = f.path();
        case "--data" -> data = f.path();
        case "--gen-threads" -> genThreads = f.positiveInt();
        case "--executor-mb" -> executorMb = f.intAtLeast(512);
        case "--driver-mb" -> driverMb = f.intAtLeast(256);
        case "--shuffle-partitions" -> shufflePartitions = f.positiveInt();
        case "--arena" -> {
          arena = f.value();
          if (!arena.matches("[0-9]+[kKmMgG]?")) {
            throw f.bad("is not a size such as 512m or 1g: " + arena);
          }
        }
        case "--out" -> out = f.path();
        case "--cluster" -> cluster = f.oneOf(List.of("local", "hosts"));
        case "--master", "--bound-master", "--driver-host", "--executor-class-path" -> {
          String name = f.flag().substring(2);
          String value = f.value();
          if (value.contains("|")) {
            throw f.bad("must not contain |: " + value);
          }
          hosts.put(name, value);
        }
        case "--job" -> {
          String job = f.value();
          throw f.bad(JOBS.contains(job) ? "must come first" : "must be tpcds, synthetic, window or hosts-report, not " + job);
        }
        default -> throw f.unknown();
      }
    }
    if (cluster.equals("hosts")) {
      if (!hosts.containsKey("master") || !hosts.containsKey("driver-host")) {
        throw new BadFlag("--cluster hosts needs --master and --driver-host (benchmarks/hosts/run-hosts.sh gives them)");
      }
      if (variants.contains("stock-hostlocal") && !hosts.containsKey("bound-master")) {
        throw new BadFlag("--cluster hosts with stock-hostlocal needs --bound-master");
      }
      hosts.putIfAbsent("executor-class-path", "");
    } else if (!hosts.isEmpty()) {
      throw new BadFlag("--master, --bound-master, --driver-host and --executor-class-path go with --cluster hosts");
    }
    return f.helpRequested() ? null : new Options(scale, queries, all, rounds, warmup, variants, cache, data,
        genThreads, executorMb, driverMb, shufflePartitions, arena, out, cluster.equals("hosts") ? hosts : null);
  }

  /** Runs the benchmark (or, with {@code --job synthetic} or {@code --job window} first, that shuffle job); returns the exit code. */
  public static int run(String[] args, PrintStream stdout, PrintStream stderr) {
    if (args.length >= 2 && args[0].equals("--job") && JOBS.contains(args[1])) {
      String[] rest = Arrays.copyOfRange(args, 2, args.length);
      if (args[1].equals("synthetic")) {
        return ShuffleJobBenchmark.run(rest, stdout, stderr);
      }
      if (args[1].equals("window")) {
        return WindowBenchmark.run(rest, stdout, stderr);
      }
      if (args[1].equals("hosts-report")) {
        return HostsReport.run(rest, stdout, stderr);
      }
      args = rest;
    }
    return Cli.run(args, USAGE, stdout, stderr, TpcdsBenchmark::parse,
        o -> prepareAndRun(o, stdout, stderr));
  }

  /** Finds the tables the queries read, checks or generates the data, then runs the benchmark. */
  private static int prepareAndRun(Options o, PrintStream stdout, PrintStream stderr) throws Exception {
    Set<String> tables = new TreeSet<>();
    for (String q : o.queries()) {
      tables.addAll(TpcdsQueries.tables(TpcdsQueries.text(q)));
    }
    Path dataDir = o.dataDir();
    if (o.data() != null) {
      if (!Files.isDirectory(o.data())) {
        throw new BadFlag("--data " + o.data() + ": no such directory");
      }
      List<String> missing = tables.stream().filter(t -> !TpcdsData.present(o.data(), t)).collect(Collectors.toList());
      if (!missing.isEmpty() && !o.allQueries()) {
        throw new BadFlag("--data " + o.data() + " lacks table(s) " + String.join(", ", missing)
            + " (each must be a Parquet folder with _SUCCESS; leave out --data to generate them)");
      }
      // with --queries all, the queries whose tables are missing are reported as unsupported
      tables.removeAll(missing);
    }
    if (o.data() == null) {
      TpcdsData.generate(dataDir, o.scale(), tables, o.genThreads(), stderr);
    }
    return benchmark(o, dataDir, tables, stdout, stderr);
  }

  /** One query's answers per variant, round by round. */
  static final class QueryResult {
    final String query;
    final Map<String, List<VariantProcess.Answer>> answers = new LinkedHashMap<>();
    String unsupported;
    final List<String> failures = new ArrayList<>();

    QueryResult(String query, List<String> variants) {
      this.query = query;
      for (String v : variants) {
        answers.put(v, new ArrayList<>());
      }
    }
  }

  static int benchmark(Options o, Path dataDir, Set<String> tables, PrintStream stdout, PrintStream stderr)
      throws Exception {
    Path logs = o.out().resolve("logs");
    Files.createDirectories(logs);
    List<VariantProcess> drivers = new ArrayList<>();
    long startAll = System.nanoTime();
    ExecutorService starter = Executors.newFixedThreadPool(o.variants().size());
    try {
      stderr.printf(Locale.ROOT, "starting %d Spark applications on %s (%s); logs in %s%n",
          o.variants().size(), o.hosts() == null ? "local-cluster[2,1," + o.executorMb() + "]"
              : "the separate-hosts cluster " + o.hosts().get("master"), String.join(", ", o.variants()), logs);
      List<Future<?>> ready = new ArrayList<>();
      for (String v : o.variants()) {
        List<String> driverArgs = new ArrayList<>(List.of(v, dataDir.toAbsolutePath().toString(),
            Integer.toString(o.executorMb()), Integer.toString(o.shufflePartitions()), o.arena(),
            String.join(",", tables)));
        if (o.hostSettings(v) != null) {
          driverArgs.add(o.hostSettings(v));
        }
        VariantProcess p = VariantProcess.start(v, o.driverMb(), driverArgs, logs.resolve(v + ".log"));
        drivers.add(p);
        ready.add(starter.submit(() -> {
          p.awaitReady();
          return null;
        }));
      }
      for (Future<?> f : ready) {
        f.get();
      }
      stderr.printf(Locale.ROOT, "applications ready in %.0f s%n", (System.nanoTime() - startAll) / 1e9);

      Map<String, QueryResult> results = new LinkedHashMap<>();
      for (String q : o.queries()) {
        results.put(q, new QueryResult(q, o.variants()));
      }
      int totalRounds = o.warmup() + o.rounds();
      int steps = totalRounds * o.queries().size() * drivers.size();
      int step = 0;
      for (int r = 0; r < totalRounds; r++) {
        boolean timed = r >= o.warmup();
        int qi = 0;
        for (String q : o.queries()) {
          QueryResult qr = results.get(q);
          for (int k = 0; k < drivers.size(); k++) {
            // rotate which variant goes first, per round and query
            VariantProcess d = drivers.get((k + r + qi) % drivers.size());
            step++;
            if (qr.unsupported != null) {
              continue;
            }
            VariantProcess.Answer a = d.run(q);
            String label = String.format(Locale.ROOT, "[%d/%d] %s %s %s", step, steps,
                timed ? "round " + (r - o.warmup() + 1) : "warm-up " + (r + 1), q, d.variant);
            switch (a.kind()) {
              case "OK" -> {
                if (timed) {
                  qr.answers.get(d.variant).add(a);
                }
                stderr.printf(Locale.ROOT, "%s: %s s, %s rows, shuffle read %s%s%n", label, a.fields()[2],
                    a.fields()[3], bytes(a.fields()[5]), SparkVariants.isOurs(d.variant)
                        ? " (tier shm " + bytes(a.fields()[8]) + ", tcp " + bytes(a.fields()[9]) + ")" : "");
              }
              case "UNSUPPORTED" -> {
                qr.unsupported = a.message();
                stderr.printf(Locale.ROOT, "%s: not supported by the data, skipped: %s%n", label, a.message());
              }
              default -> {
                qr.failures.add(d.variant + ": " + a.message());
                stderr.printf(Locale.ROOT, "%s: FAILED: %s (see %s)%n", label, a.message(), d.log);
              }
            }
          }
          qi++;
        }
      }
      Report report = new Report(o, new ArrayList<>(results.values()));
      String md = report.markdown();
      stdout.print(md);
      Files.writeString(o.out().resolve(Report.MD), md);
      Files.writeString(o.out().resolve(Report.CSV), report.csv());
      report.chart(o.out().resolve(Report.PNG));
      stderr.printf(Locale.ROOT, "wrote %s, %s, %s in %s (%.0f s in all)%n", Report.MD, Report.CSV, Report.PNG,
          o.out(), (System.nanoTime() - startAll) / 1e9);
      for (String missed : report.missed()) {
        stdout.println("MISSED: " + missed);
      }
      List<String> errors = report.errors();
      for (String e : errors) {
        stderr.println("error: " + e);
      }
      return errors.isEmpty() ? 0 : 1;
    } finally {
      starter.shutdownNow();
      for (VariantProcess d : drivers) {
        d.close();
      }
    }
  }

  /** A byte count for a progress line: B, kB or MB (10^3, 10^6). */
  static String bytes(String count) {
    long b = Long.parseLong(count);
    if (b < 1000) {
      return b + " B";
    }
    return b < 1_000_000 ? String.format(Locale.ROOT, "%.1f kB", b / 1e3)
        : String.format(Locale.ROOT, "%.1f MB", b / 1e6);
  }

  static String scaleText(double scale) {
    return new BigDecimal(Double.toString(scale)).stripTrailingZeros().toPlainString();
  }
}
