package io.vrdma.bench.tpcds;

import io.vrdma.bench.spark.SparkVariants;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * The benchmark's results as a markdown table (printed and written), a CSV with one line per query and variant, and
 * a PNG bar chart of the median time per query and variant (XChart). Also the checks: rows equal under every
 * shuffle, the timing targets.
 */
final class Report {
  static final String MD = "tpcds-report.md";
  static final String CSV = "tpcds-report.csv";
  static final String PNG = "tpcds-chart.png";

  /** Target: total time of vrdma-shm at most this times stock's. */
  static final double TOTAL_TARGET = 0.90;
  /** Target: no query of vrdma-shm slower than this times stock's. */
  static final double QUERY_TARGET = 1.05;

  private static final String BASE = "stock";
  private static final String SHM = "vrdma-shm";
  private static final String BOUND = "stock-hostlocal";

  private final TpcdsBenchmark.Options o;
  private final List<TpcdsBenchmark.QueryResult> results;

  Report(TpcdsBenchmark.Options o, List<TpcdsBenchmark.QueryResult> results) {
    this.o = o;
    this.results = results;
  }

  /** A query counts in the table when it ran on every variant in every timed round. */
  private boolean complete(TpcdsBenchmark.QueryResult r) {
    return r.unsupported == null && r.failures.isEmpty()
        && r.answers.values().stream().allMatch(a -> a.size() == o.rounds());
  }

  private List<TpcdsBenchmark.QueryResult> completed() {
    return results.stream().filter(this::complete).collect(Collectors.toList());
  }

  static double median(List<VariantProcess.Answer> answers) {
    double[] s = answers.stream().mapToDouble(a -> Double.parseDouble(a.fields()[2])).sorted().toArray();
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static long field(TpcdsBenchmark.QueryResult r, String variant, int index) {
    return Long.parseLong(r.answers.get(variant).get(0).fields()[index]);
  }

  /** The distinct row hashes a query returned, over all variants and rounds. */
  private static Set<String> hashes(TpcdsBenchmark.QueryResult r) {
    Set<String> out = new LinkedHashSet<>();
    r.answers.values().forEach(as -> as.forEach(a -> out.add(a.fields()[4] + " (" + a.fields()[3] + " rows)")));
    return out;
  }

  private double total(String variant) {
    return completed().stream().mapToDouble(r -> median(r.answers.get(variant))).sum();
  }

  private boolean hasRatios() {
    return o.variants().contains(BASE);
  }

  String markdown() {
    List<String> vs = o.variants();
    List<String> others = vs.stream().filter(v -> !v.equals(BASE)).collect(Collectors.toList());
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "TPC-DS sf%s (io.trino.tpcds 1.4, Parquet) on Spark 3.5.9"
        + (o.hosts() == null ? " local-cluster[2,1,%d]," : " standalone, separate hosts (network namespaces),"
            + " 2 executors of 1 core and %d MB,")
        + " AQE on, spark.sql.shuffle.partitions=%d; %d timed round(s) after %d warm-up, median seconds per query;"
        + " variants interleaved query by query.%n%n", TpcdsBenchmark.scaleText(o.scale()), o.executorMb(),
        o.shufflePartitions(), o.rounds(), o.warmup()));
    md.append("| query |");
    vs.forEach(v -> md.append(' ').append(v).append(" s |"));
    if (hasRatios()) {
      others.forEach(v -> md.append(' ').append(v).append(" / stock |"));
    }
    md.append(" shuffle read MB (").append(String.join(" / ", vs)).append(") |");
    vs.stream().filter(SparkVariants::isOurs).forEach(v -> md.append(' ').append(v).append(" tier MB |"));
    md.append(" rows | same rows |\n|---|");
    md.append("---:|".repeat(vs.size() + (hasRatios() ? others.size() : 0) + 1));
    md.append("---|".repeat((int) vs.stream().filter(SparkVariants::isOurs).count()));
    md.append("---:|---|\n");
    for (TpcdsBenchmark.QueryResult r : results) {
      md.append("| ").append(r.query).append(" |");
      if (r.unsupported != null || !r.failures.isEmpty() || !complete(r)) {
        String why = r.unsupported != null ? "not supported by the data" : "FAILED: " + String.join("; ", r.failures);
        md.append(' ').append(why.replace("|", "/")).append(" |\n");
        continue;
      }
      double base = hasRatios() ? median(r.answers.get(BASE)) : Double.NaN;
      vs.forEach(v -> md.append(String.format(Locale.ROOT, " %.2f |", median(r.answers.get(v)))));
      if (hasRatios()) {
        others.forEach(v -> md.append(String.format(Locale.ROOT, " %.2f |", median(r.answers.get(v)) / base)));
      }
      md.append(' ').append(vs.stream().map(v -> String.format(Locale.ROOT, "%.2f", field(r, v, 5) / 1e6))
          .collect(Collectors.joining(" / "))).append(" |");
      for (String v : vs) {
        if (SparkVariants.isOurs(v)) {
          md.append(String.format(Locale.ROOT, " shm %.2f, tcp %.2f |", field(r, v, 8) / 1e6, field(r, v, 9) / 1e6));
        }
      }
      md.append(' ').append(field(r, vs.get(0), 3)).append(" | ").append(hashes(r).size() == 1 ? "yes" : "**NO**")
          .append(" |\n");
    }
    List<TpcdsBenchmark.QueryResult> done = completed();
    md.append("| **total** (").append(done.size()).append(" queries) |");
    vs.forEach(v -> md.append(String.format(Locale.ROOT, " %.2f |", total(v))));
    if (hasRatios()) {
      others.forEach(v -> md.append(String.format(Locale.ROOT, " %.2f |", total(v) / total(BASE))));
    }
    md.append(" |".repeat(1 + (int) vs.stream().filter(SparkVariants::isOurs).count() + 2)).append('\n');

    md.append('\n');
    long same = done.stream().filter(r -> hashes(r).size() == 1).count();
    md.append(String.format(Locale.ROOT, "Rows identical under every shuffle (SHA-256 of the sorted rows, doubles to 10"
        + " significant digits) for %d of %d queries run.", same, done.size()));
    List<String> unsupported = results.stream().filter(r -> r.unsupported != null).map(r -> r.query)
        .collect(Collectors.toList());
    if (!unsupported.isEmpty()) {
      md.append(" Not supported by the data (skipped): ").append(String.join(", ", unsupported)).append('.');
    }
    md.append('\n');
    if (hasRatios() && o.variants().contains(SHM) && !done.isEmpty()) {
      double ratio = total(SHM) / total(BASE);
      TpcdsBenchmark.QueryResult worst = done.stream().max((a, b) -> Double.compare(
          median(a.answers.get(SHM)) / median(a.answers.get(BASE)),
          median(b.answers.get(SHM)) / median(b.answers.get(BASE)))).orElseThrow();
      double worstRatio = median(worst.answers.get(SHM)) / median(worst.answers.get(BASE));
      md.append(String.format(Locale.ROOT, "%nTargets: total vrdma-shm / stock = %.2f (target <= %.2f: %s);"
          + " slowest query %s at %.2f x stock (target: none above %.2f: %s).%n", ratio, TOTAL_TARGET,
          ratio <= TOTAL_TARGET ? "met" : "MISSED", worst.query, worstRatio, QUERY_TARGET,
          worstRatio <= QUERY_TARGET ? "met" : "MISSED"));
    }
    if (hasRatios() && o.variants().contains(BOUND) && !done.isEmpty()) {
      md.append(String.format(Locale.ROOT, "%nNo-transfer bound: %s (each reducer reads the other executor's files"
          + " from disk, nothing moves) total = %.2f x stock%s.%n", BOUND, total(BOUND) / total(BASE),
          o.variants().contains(SHM) ? String.format(Locale.ROOT, "; vrdma-shm = %.2f x that bound",
              total(SHM) / total(BOUND)) : ""));
    }
    md.append(String.format(Locale.ROOT, "%nShuffle read MB: bytes read by reduce tasks (local and remote, Spark's task"
        + " metrics); tier MB: bytes our block client moved per tier (the plugin's counters, remote blocks only)."
        + " MB = 10^6 B.%n"));
    return md.toString();
  }

  /** The targets missed, one line each (empty when met or not measurable). */
  List<String> missed() {
    List<String> out = new ArrayList<>();
    List<TpcdsBenchmark.QueryResult> done = completed();
    if (!hasRatios() || !o.variants().contains(SHM) || done.isEmpty()) {
      return out;
    }
    double ratio = total(SHM) / total(BASE);
    if (ratio > TOTAL_TARGET) {
      out.add(String.format(Locale.ROOT, "total vrdma-shm / stock = %.2f > %.2f", ratio, TOTAL_TARGET));
    }
    for (TpcdsBenchmark.QueryResult r : done) {
      double q = median(r.answers.get(SHM)) / median(r.answers.get(BASE));
      if (q > QUERY_TARGET) {
        out.add(String.format(Locale.ROOT, "%s vrdma-shm / stock = %.2f > %.2f", r.query, q, QUERY_TARGET));
      }
    }
    return out;
  }

  /** Failures and row mismatches, one line each: any makes the run fail. */
  List<String> errors() {
    List<String> out = new ArrayList<>();
    for (TpcdsBenchmark.QueryResult r : results) {
      r.failures.forEach(f -> out.add(r.query + " failed on " + f));
      if (r.unsupported == null && r.failures.isEmpty()) {
        Set<String> h = hashes(r);
        if (h.size() > 1) {
          out.add(r.query + " returned different rows under different shuffles: " + r.answers.entrySet().stream()
              .map(e -> e.getKey() + " " + e.getValue().stream().map(a -> a.fields()[4] + " (" + a.fields()[3]
                  + " rows)").collect(Collectors.joining(", "))).collect(Collectors.joining("; ")));
        }
      }
    }
    return out;
  }

  String csv() {
    StringBuilder csv = new StringBuilder("query,variant,rounds,median_s,min_s,max_s,rows,rows_sha256_16,"
        + "shuffle_read_bytes,remote_read_bytes,shuffle_written_bytes,shm_tier_bytes,tcp_tier_bytes,verbs_tier_bytes,"
        + "ratio_vs_stock,status\n");
    for (TpcdsBenchmark.QueryResult r : results) {
      for (String v : o.variants()) {
        List<VariantProcess.Answer> as = r.answers.get(v);
        if (r.unsupported != null || as.isEmpty()) {
          csv.append(r.query).append(',').append(v).append(",0,,,,,,,,,,,,,")
              .append(r.unsupported != null ? "unsupported" : "failed").append('\n');
          continue;
        }
        double[] secs = as.stream().mapToDouble(a -> Double.parseDouble(a.fields()[2])).sorted().toArray();
        String ratio = hasRatios() && !r.answers.get(BASE).isEmpty()
            ? String.format(Locale.ROOT, "%.4f", median(as) / median(r.answers.get(BASE))) : "";
        String[] f = as.get(0).fields();
        csv.append(String.join(",", r.query, v, Integer.toString(as.size()),
            String.format(Locale.ROOT, "%.3f", median(as)), String.format(Locale.ROOT, "%.3f", secs[0]),
            String.format(Locale.ROOT, "%.3f", secs[secs.length - 1]), f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10],
            ratio, complete(r) ? (hashes(r).size() == 1 ? "ok" : "rows-differ") : "failed")).append('\n');
      }
    }
    return csv.toString();
  }

  /** Bar chart of the median seconds per query, one series per variant. */
  void chart(Path png) throws IOException {
    List<TpcdsBenchmark.QueryResult> done = completed();
    List<String> queries = done.stream().map(r -> r.query).collect(Collectors.toList());
    int width = Math.max(900, 120 + queries.size() * o.variants().size() * 14);
    CategoryChart chart = new CategoryChartBuilder().width(width).height(520)
        .title(String.format(Locale.ROOT, "TPC-DS sf%s on Spark local-cluster[2,1,%d]: median query time per shuffle",
            TpcdsBenchmark.scaleText(o.scale()), o.executorMb()))
        .xAxisTitle("query").yAxisTitle("seconds").build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
    chart.getStyler().setAvailableSpaceFill(0.8);
    chart.getStyler().setXAxisLabelRotation(queries.size() > 20 ? 90 : 0);
    if (queries.isEmpty()) {
      queries = List.of("(none)");
    }
    for (String v : o.variants()) {
      List<Double> ys = done.isEmpty() ? List.of(0.0)
          : done.stream().map(r -> median(r.answers.get(v))).collect(Collectors.toList());
      String name = v;
      if (hasRatios() && !v.equals(BASE) && !done.isEmpty()) {
        name = String.format(Locale.ROOT, "%s (total %.2f x stock)", v, total(v) / total(BASE));
      }
      chart.addSeries(name, queries, ys);
    }
    String file = png.toString();
    BitmapEncoder.saveBitmap(chart, file.endsWith(".png") ? file.substring(0, file.length() - 4) : file,
        BitmapEncoder.BitmapFormat.PNG);
  }
}
