package io.vrdma.bench;

import io.vrdma.bench.cli.BadFlag;
import io.vrdma.bench.cli.Cli;
import io.vrdma.bench.cli.Flags;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.tier.TierAvailability;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the tier and baseline benchmarks with JMH and prints one table: read throughput and latency of each
 * tier per block size, next to the baseline that bounds it, with the ratio and the issue's targets (shm at
 * least 0.8 of memcpy and tcp at least 0.9 of a raw loopback socket, for blocks of 1 MiB and more).
 *
 * <p>It is a measurement, not a gate: it exits 0 whatever the numbers, printing a MISSED line for each
 * missed target. A tier that does not work on this machine is reported as unavailable, with the node's
 * reason, and not run. Exit 2 for bad flags; 1 when JMH itself cannot run.
 */
public final class TransportBenchmarkReport {
  static final String REPORT_MD = "transport-benchmark.md";
  static final String REPORT_CSV = "transport-benchmark.csv";
  static final String JMH_JSON = "jmh-result.json";

  private static final String MEMCPY = "memcpy";
  private static final String LOOPBACK = "loopback socket";
  /** Block size from which the targets apply. */
  private static final long TARGET_FROM_BYTES = 1 << 20;

  private static final String USAGE = String.join("\n",
      "usage: java -jar vrdma-benchmarks.jar [flags]",
      "  --forks N         JMH forks per benchmark (default 1; 0 runs in this JVM)",
      "  --warmup N        warm-up iterations (default 3)",
      "  --iterations N    measurement iterations (default 5)",
      "  --time T          length of each iteration: seconds, or with a unit (500ms, 2s; default 1s)",
      "  --sizes LIST      block sizes, e.g. 4k,64k,1m,16m (default; at most 16m)",
      "  --tiers LIST      tiers to measure, e.g. shm,tcp (default)",
      "  --out DIR         where the report (" + REPORT_MD + ", " + REPORT_CSV + ", " + JMH_JSON
          + ") goes (default benchmark-results)",
      "  --help            this text",
      "Targets (ratios, blocks >= 1 MiB): shm >= 0.8 x memcpy, tcp >= 0.9 x raw loopback socket.",
      "Exit 0 whatever the numbers (MISSED lines name missed targets), 2 for bad flags.");

  private TransportBenchmarkReport() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Options of one run. */
  record Options(int forks, int warmup, int iterations, TimeValue time, List<Integer> sizes, List<Tier> tiers,
      Path out) {}

  /** Runs the report; returns the process exit code. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    return Cli.run(args, USAGE, out, err, TransportBenchmarkReport::parse, o -> report(o, out));
  }

  /** The options, or null when help was asked for. */
  static Options parse(String[] args) {
    int forks = 1;
    int warmup = 3;
    int iterations = 5;
    TimeValue time = TimeValue.seconds(1);
    List<Integer> sizes = List.of(4096, 65536, 1 << 20, 16 << 20);
    List<Tier> tiers = List.of(Tier.SHM, Tier.TCP);
    Path out = Path.of("benchmark-results");
    Flags f = new Flags(args);
    while (f.next()) {
      switch (f.flag()) {
        case "--forks" -> forks = f.intAtLeast(0);
        case "--warmup" -> warmup = f.intAtLeast(0);
        case "--iterations" -> iterations = f.positiveInt();
        case "--time" -> time = duration(f);
        case "--sizes" -> sizes = f.sizes(Workload.MAX_BLOCK_BYTES);
        case "--tiers" -> tiers = tiers(f);
        case "--out" -> out = f.path();
        default -> throw f.unknown();
      }
    }
    return f.helpRequested() ? null : new Options(forks, warmup, iterations, time, sizes, tiers, out);
  }

  /** A JMH iteration time: whole seconds, or with a unit (2s, 500ms). */
  private static TimeValue duration(Flags f) {
    String value = f.value();
    String v = value.trim().toLowerCase(Locale.ROOT);
    try {
      long n;
      if (v.endsWith("ms")) {
        n = Long.parseLong(v.substring(0, v.length() - 2));
        if (n > 0) {
          return TimeValue.milliseconds(n);
        }
      } else {
        n = Long.parseLong(v.endsWith("s") ? v.substring(0, v.length() - 1) : v);
        if (n > 0) {
          return TimeValue.seconds(n);
        }
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw f.bad("takes a positive duration such as 1, 2s or 500ms, got '" + value + "'");
  }

  private static List<Tier> tiers(Flags f) {
    List<Tier> out = new ArrayList<>();
    for (String name : f.list()) {
      Tier t;
      try {
        t = Tier.fromName(name);
      } catch (IllegalArgumentException e) {
        throw new BadFlag(f.flag() + ": " + e.getMessage());
      }
      if (!out.contains(t)) {
        out.add(t);
      }
    }
    return out;
  }

  /** Why a tier cannot run here, or null when it can: a node forced to the tier is started and asked. */
  static String unavailability(Tier tier) {
    Path arena = null;
    Path dir = null;
    try {
      dir = Files.createTempDirectory("vrdma-bench-probe-");
      arena = BenchNodes.newArenaPath(dir);
      try (TransportNode node = TransportNode.start(BenchNodes.conf(tier, arena))) {
        if (node.has(tier)) {
          return null;
        }
        return node.availability().stream().filter(a -> a.tier() == tier).map(TierAvailability::detail)
            .findFirst().orElse("not probed");
      }
    } catch (Exception e) {
      return "node does not start: " + e.getMessage();
    } finally {
      BenchNodes.deleteQuietly(arena);
      BenchNodes.deleteQuietly(dir);
    }
  }

  /** Throughput and latency of one tier or baseline at one block size. */
  record Measure(double gbPerSecond, double p50Micros, double p99Micros) {
    static final Measure NONE = new Measure(Double.NaN, Double.NaN, Double.NaN);
  }

  static int report(Options o, PrintStream out) throws RunnerException, IOException {
    Map<Tier, String> unavailable = new LinkedHashMap<>();
    List<String> runnable = new ArrayList<>();
    for (Tier t : o.tiers()) {
      String why = unavailability(t);
      if (why == null) {
        runnable.add(t.configName());
        out.println("tier " + t.configName() + ": available, measuring");
      } else {
        unavailable.put(t, why);
        out.println("tier " + t.configName() + ": unavailable: " + why);
      }
    }
    Files.createDirectories(o.out());
    ChainedOptionsBuilder jmh = new OptionsBuilder()
        .include(Pattern.quote(MemcpyBaseline.class.getName()) + "\\.")
        .include(Pattern.quote(LoopbackSocketBaseline.class.getName()) + "\\.")
        .forks(o.forks())
        .warmupIterations(o.warmup())
        .warmupTime(o.time())
        .measurementIterations(o.iterations())
        .measurementTime(o.time())
        .param("blockBytes", o.sizes().stream().map(String::valueOf).toArray(String[]::new))
        .shouldFailOnError(false)
        .result(o.out().resolve(JMH_JSON).toString())
        .resultFormat(ResultFormatType.JSON);
    if (!runnable.isEmpty()) {
      jmh.include(Pattern.quote(TierReadBenchmark.class.getName()) + "\\.")
          .param("tier", runnable.toArray(String[]::new));
    }
    Collection<RunResult> results = new Runner(jmh.build()).run();

    Map<String, Measure> measures = collect(results);
    Table table = table(o, unavailable, measures);
    out.println();
    out.println(table.markdown);
    for (String line : table.verdicts) {
      out.println(line);
    }
    Files.writeString(o.out().resolve(REPORT_MD), "# Transport read benchmark\n\n"
        + "GB/s = 10^9 bytes/s, streaming " + Workload.MAX_DEPTH + " reads in flight (fewer for blocks over "
        + Workload.sizeLabel(Workload.MAX_IN_FLIGHT_BYTES / Workload.MAX_DEPTH) + "); p50/p99 = one read waited for."
        + " JMH: " + o.forks() + " fork(s), " + o.warmup() + " warm-up and " + o.iterations()
        + " measurement iteration(s) of " + o.time() + ".\n\n" + table.markdown + "\n"
        + String.join("\n", table.verdicts) + "\n", StandardCharsets.UTF_8);
    Files.writeString(o.out().resolve(REPORT_CSV), table.csv, StandardCharsets.UTF_8);
    out.println("report written to " + o.out().resolve(REPORT_MD) + " and " + o.out().resolve(REPORT_CSV));
    return 0;
  }

  /** Measures keyed by "label@blockBytes"; label is the tier's name or a baseline's. */
  static Map<String, Measure> collect(Collection<RunResult> results) {
    Map<String, Double> gbps = new HashMap<>();
    Map<String, double[]> latency = new HashMap<>();
    for (RunResult r : results) {
      String benchmark = r.getParams().getBenchmark();
      String cls = benchmark.substring(0, benchmark.lastIndexOf('.'));
      String method = benchmark.substring(benchmark.lastIndexOf('.') + 1);
      int block = Integer.parseInt(r.getParams().getParam("blockBytes"));
      String label;
      if (cls.equals(TierReadBenchmark.class.getName())) {
        label = r.getParams().getParam("tier");
      } else if (cls.equals(MemcpyBaseline.class.getName())) {
        label = MEMCPY;
      } else if (cls.equals(LoopbackSocketBaseline.class.getName())) {
        label = LOOPBACK;
      } else {
        continue;
      }
      String key = label + "@" + block;
      Result<?> primary = r.getPrimaryResult();
      if (method.endsWith("Window")) {
        gbps.put(key, primary.getScore() * Workload.windowBytes(block) / 1e9);
      } else {
        latency.put(key, new double[] {primary.getStatistics().getPercentile(50),
            primary.getStatistics().getPercentile(99)});
      }
    }
    Map<String, Measure> out = new HashMap<>();
    for (String key : union(gbps.keySet(), latency.keySet())) {
      double[] l = latency.getOrDefault(key, new double[] {Double.NaN, Double.NaN});
      out.put(key, new Measure(gbps.getOrDefault(key, Double.NaN), l[0], l[1]));
    }
    return out;
  }

  private static List<String> union(Collection<String> a, Collection<String> b) {
    List<String> all = new ArrayList<>(a);
    for (String s : b) {
      if (!all.contains(s)) {
        all.add(s);
      }
    }
    return all;
  }

  /** The baseline that bounds a tier. */
  static String baselineOf(Tier tier) {
    return tier == Tier.SHM ? MEMCPY : LOOPBACK;
  }

  /** The issue's target ratio for a tier at a block size, or NaN when there is none. */
  static double targetOf(Tier tier, long blockBytes) {
    if (blockBytes < TARGET_FROM_BYTES) {
      return Double.NaN;
    }
    return switch (tier) {
      case SHM -> 0.8;
      case TCP -> 0.9;
      case VERBS, RSOCKET -> Double.NaN;
    };
  }

  record Table(String markdown, String csv, List<String> verdicts) {}

  static Table table(Options o, Map<Tier, String> unavailable, Map<String, Measure> measures) {
    StringBuilder md = new StringBuilder();
    StringBuilder csv = new StringBuilder(
        "block_bytes,tier,gb_per_s,p50_us,p99_us,baseline,baseline_gb_per_s,ratio,target,met,note\n");
    List<String> verdicts = new ArrayList<>();
    md.append("| block size | tier | GB/s | p50 µs | p99 µs | baseline | baseline GB/s | ratio | target | met? |\n");
    md.append("|---|---|---:|---:|---:|---|---:|---:|---|---|\n");
    int met = 0;
    int missed = 0;
    int notMeasured = 0;
    for (int block : o.sizes()) {
      String size = Workload.sizeLabel(block);
      for (Tier t : o.tiers()) {
        String baseline = baselineOf(t);
        Measure base = measures.getOrDefault(baseline + "@" + block, Measure.NONE);
        double target = targetOf(t, block);
        String targetText = Double.isNaN(target) ? "—" : "≥ " + fmt(target, 1) + "×";
        Measure m = measures.get(t.configName() + "@" + block);
        if (unavailable.containsKey(t) || m == null) {
          String note = unavailable.containsKey(t) ? "unavailable: " + unavailable.get(t)
              : "failed: no result (see the JMH output above)";
          md.append(row(size, t.configName(), note, "", "", baseline, fmt(base.gbPerSecond(), 2), "—", targetText,
              Double.isNaN(target) ? "—" : "not measured"));
          csv.append(csvRow(block, t.configName(), Measure.NONE, baseline, base.gbPerSecond(), Double.NaN, target,
              Double.isNaN(target) ? "" : "not measured", note));
          if (!Double.isNaN(target)) {
            notMeasured++;
          }
          continue;
        }
        double ratio = m.gbPerSecond() / base.gbPerSecond();
        String verdict;
        if (Double.isNaN(target)) {
          verdict = "—";
        } else if (Double.isNaN(ratio)) {
          verdict = "not measured";
          notMeasured++;
        } else if (ratio >= target) {
          verdict = "met";
          met++;
        } else {
          verdict = "**MISSED**";
          missed++;
          verdicts.add(String.format(Locale.ROOT, "MISSED: %s at %s reads %.2f GB/s = %.2f × %s (%.2f GB/s);"
              + " target ≥ %.1f×", t.configName(), size, m.gbPerSecond(), ratio, baseline, base.gbPerSecond(),
              target));
        }
        md.append(row(size, t.configName(), fmt(m.gbPerSecond(), 2), fmt(m.p50Micros(), 1), fmt(m.p99Micros(), 1),
            baseline, fmt(base.gbPerSecond(), 2), fmt(ratio, 2), targetText, verdict));
        csv.append(csvRow(block, t.configName(), m, baseline, base.gbPerSecond(), ratio, target,
            verdict.replace("*", "").toLowerCase(Locale.ROOT).replace("—", ""), ""));
      }
      for (String baseline : List.of(MEMCPY, LOOPBACK)) {
        Measure b = measures.get(baseline + "@" + block);
        String label = baseline + " (baseline)";
        if (b == null) {
          md.append(row(size, label, "failed: no result (see the JMH output above)", "", "", "—", "—", "—", "—", "—"));
          csv.append(csvRow(block, label, Measure.NONE, "", Double.NaN, Double.NaN, Double.NaN, "", "failed"));
        } else {
          md.append(row(size, label, fmt(b.gbPerSecond(), 2), fmt(b.p50Micros(), 1), fmt(b.p99Micros(), 1),
              "—", "—", "—", "—", "—"));
          csv.append(csvRow(block, label, b, "", Double.NaN, Double.NaN, Double.NaN, "", ""));
        }
      }
    }
    verdicts.add(String.format(Locale.ROOT, "targets: %d met, %d missed, %d not measured", met, missed, notMeasured));
    return new Table(md.toString(), csv.toString(), verdicts);
  }

  private static String row(String... cells) {
    return "| " + String.join(" | ", cells) + " |\n";
  }

  private static String csvRow(int block, String tier, Measure m, String baseline, double baseGbps, double ratio,
      double target, String met, String note) {
    return String.join(",", Integer.toString(block), csv(tier), num(m.gbPerSecond()), num(m.p50Micros()),
        num(m.p99Micros()), csv(baseline), num(baseGbps), num(ratio), num(target), csv(met), csv(note)) + "\n";
  }

  private static String csv(String s) {
    return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.4f", v);
  }

  private static String fmt(double v, int decimals) {
    return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, "%." + decimals + "f", v);
  }
}
