package io.vrdma.bench.tpcds;

import io.vrdma.bench.spark.SparkVariants;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The benchmark's results as a markdown table (printed and written: per query and variant the median and min–max of
 * the timed rounds, the total per variant with its spread, the target verdicts the spread allows, one line per
 * variant of the bytes each tier carried), a CSV with one line per query and variant plus the totals, and a PNG of
 * the median and min–max per query and variant (XChart). Also the checks: rows equal under every shuffle, the
 * timing targets.
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

  /** The seconds of each timed round, in round order. */
  private static double[] seconds(List<VariantProcess.Answer> answers) {
    return answers.stream().mapToDouble(a -> Double.parseDouble(a.fields()[2])).toArray();
  }

  /** A variant's rounds of one query: median, min, max. */
  static Spread spread(TpcdsBenchmark.QueryResult r, String variant) {
    return Spread.of(seconds(r.answers.get(variant)));
  }

  static double median(List<VariantProcess.Answer> answers) {
    return Spread.of(seconds(answers)).median();
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

  /**
   * The spread of a variant's total: per timed round the sum of that round's times of the completed queries, so
   * that a slow minute counts once in the round it hit, not in every query's median.
   */
  Spread total(String variant) {
    double[] perRound = new double[o.rounds()];
    for (TpcdsBenchmark.QueryResult r : completed()) {
      double[] s = seconds(r.answers.get(variant));
      for (int i = 0; i < perRound.length; i++) {
        perRound[i] += s[i];
      }
    }
    return Spread.of(perRound);
  }

  private boolean hasRatios() {
    return o.variants().contains(BASE);
  }

  private boolean hasTargets() {
    return hasRatios() && o.variants().contains(SHM);
  }

  /** The per-query target's verdict on vrdma-shm against stock. */
  private static String queryVerdict(TpcdsBenchmark.QueryResult r) {
    return Spread.verdict(spread(r, SHM), spread(r, BASE), QUERY_TARGET);
  }

  private String totalVerdict() {
    return Spread.verdict(total(SHM), total(BASE), TOTAL_TARGET);
  }

  String markdown() {
    List<String> vs = o.variants();
    List<String> others = vs.stream().filter(v -> !v.equals(BASE)).collect(Collectors.toList());
    List<String> ours = vs.stream().filter(SparkVariants::isOurs).collect(Collectors.toList());
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "TPC-DS sf%s (io.trino.tpcds 1.4, Parquet) on Spark 3.5.9"
        + (o.hosts() == null ? " local-cluster[2,1,%d]," : " standalone, separate hosts (network namespaces),"
            + " 2 executors of 1 core and %d MB,")
        + " AQE on, spark.sql.shuffle.partitions=%d; %d timed round(s) after %d untimed warm-up round(s);"
        + " seconds per query: median [min–max] over the timed rounds; variants interleaved query by query.%n%n",
        TpcdsBenchmark.scaleText(o.scale()), o.executorMb(), o.shufflePartitions(), o.rounds(), o.warmup()));
    md.append("| query |");
    vs.forEach(v -> md.append(' ').append(v).append(" s |"));
    if (hasRatios()) {
      others.forEach(v -> md.append(' ').append(v).append(" / stock |"));
    }
    if (hasTargets()) {
      md.append(String.format(Locale.ROOT, " vrdma-shm <= %.2f x stock |", QUERY_TARGET));
    }
    md.append(" shuffle read MB (").append(String.join(" / ", vs)).append(") |");
    ours.forEach(v -> md.append(' ').append(v).append(" tier MB |"));
    md.append(" rows | same rows |\n|---|");
    md.append("---:|".repeat(vs.size() + (hasRatios() ? others.size() : 0)));
    md.append(hasTargets() ? "---|" : "").append("---:|").append("---|".repeat(ours.size())).append("---:|---|\n");
    for (TpcdsBenchmark.QueryResult r : results) {
      md.append("| ").append(r.query).append(" |");
      if (r.unsupported != null || !r.failures.isEmpty() || !complete(r)) {
        String why = r.unsupported != null ? "not supported by the data" : "FAILED: " + String.join("; ", r.failures);
        md.append(' ').append(why.replace("|", "/")).append(" |\n");
        continue;
      }
      vs.forEach(v -> md.append(' ').append(spread(r, v).text()).append(" |"));
      if (hasRatios()) {
        double base = spread(r, BASE).median();
        others.forEach(v -> md.append(String.format(Locale.ROOT, " %.2f |", spread(r, v).median() / base)));
      }
      if (hasTargets()) {
        md.append(' ').append(queryVerdict(r)).append(" |");
      }
      md.append(' ').append(vs.stream().map(v -> String.format(Locale.ROOT, "%.2f", field(r, v, 5) / 1e6))
          .collect(Collectors.joining(" / "))).append(" |");
      for (String v : ours) {
        md.append(String.format(Locale.ROOT, " shm %.2f, tcp %.2f |", field(r, v, 8) / 1e6, field(r, v, 9) / 1e6));
      }
      md.append(' ').append(field(r, vs.get(0), 3)).append(" | ").append(hashes(r).size() == 1 ? "yes" : "**NO**")
          .append(" |\n");
    }
    List<TpcdsBenchmark.QueryResult> done = completed();
    md.append("| **total** (").append(done.size()).append(" queries) |");
    if (done.isEmpty()) {
      md.append(" |".repeat(vs.size()));
    } else {
      vs.forEach(v -> md.append(' ').append(total(v).text()).append(" |"));
    }
    if (hasRatios()) {
      others.forEach(v -> md.append(done.isEmpty() ? " |" : String.format(Locale.ROOT, " %.2f |",
          total(v).median() / total(BASE).median())));
    }
    if (hasTargets()) {
      md.append(done.isEmpty() ? " |" : String.format(Locale.ROOT, " total <= %.2f x stock: %s |", TOTAL_TARGET,
          totalVerdict()));
    }
    md.append(" |".repeat(1 + ours.size() + 2)).append('\n');

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
    if (hasTargets() && !done.isEmpty()) {
      md.append(String.format(Locale.ROOT, "%nTargets, decided only where the rounds' spread allows (met: even"
          + " vrdma-shm's slowest round within the target of stock's fastest; MISSED: even its fastest beyond the"
          + " target of stock's slowest; otherwise undecided): total vrdma-shm / stock = %.2f by the medians (target"
          + " <= %.2f: %s); per query (none above %.2f x stock): %s.%n", total(SHM).median() / total(BASE).median(),
          TOTAL_TARGET, totalVerdict(), QUERY_TARGET, verdictCounts(done)));
    }
    if (hasRatios() && o.variants().contains(BOUND) && !done.isEmpty()) {
      md.append(String.format(Locale.ROOT, "%nNo-transfer bound: %s (each reducer reads the other executor's files"
          + " from disk, nothing moves) total = %.2f x stock%s.%n", BOUND, total(BOUND).median()
          / total(BASE).median(), o.variants().contains(SHM) ? String.format(Locale.ROOT,
              "; vrdma-shm = %.2f x that bound", total(SHM).median() / total(BOUND).median()) : ""));
    }
    if (!done.isEmpty()) {
      md.append(String.format(Locale.ROOT, "%nBytes per tier in round 1 of the %d queries (our block client's counters"
          + " as the driver sums them; Spark's remote shuffle read beside them):%n%n", done.size()));
      vs.forEach(v -> md.append("- ").append(tierLine(done, v)).append('\n'));
    }
    md.append(String.format(Locale.ROOT, "%nShuffle read MB: bytes read by reduce tasks (local and remote, Spark's task"
        + " metrics); tier MB: bytes our block client moved per tier (the plugin's counters, remote blocks only)."
        + " MB = 10^6 B.%n"));
    return md.toString();
  }

  /** "met for 3, MISSED for 1 (q72), undecided for 4 (q3, ...)": the per-query verdicts counted. */
  private static String verdictCounts(List<TpcdsBenchmark.QueryResult> done) {
    Map<String, List<String>> by = new LinkedHashMap<>();
    for (TpcdsBenchmark.QueryResult r : done) {
      String v = queryVerdict(r);
      by.computeIfAbsent(v.equals(Spread.MET) || v.equals(Spread.MISSED) ? v : "undecided", k -> new ArrayList<>())
          .add(r.query);
    }
    return by.entrySet().stream().map(e -> e.getKey() + " for " + e.getValue().size()
        + (e.getKey().equals(Spread.MET) ? "" : " (" + String.join(", ", e.getValue()) + ")"))
        .collect(Collectors.joining(", "));
  }

  /** One variant's bytes per tier in round 1, summed over the completed queries. */
  static String tierLine(List<TpcdsBenchmark.QueryResult> done, String variant) {
    long remote = done.stream().mapToLong(r -> field(r, variant, 6)).sum();
    if (!SparkVariants.isOurs(variant)) {
      return String.format(Locale.ROOT, "%s: %.2f MB remote shuffle read, by Spark's own shuffle (%s); none through"
          + " our tiers", variant, remote / 1e6, variant.equals(BOUND) ? "the other executor's files read from disk"
              : "Netty block transfer");
    }
    long shm = done.stream().mapToLong(r -> field(r, variant, 8)).sum();
    long tcp = done.stream().mapToLong(r -> field(r, variant, 9)).sum();
    long verbs = done.stream().mapToLong(r -> field(r, variant, 10)).sum();
    return String.format(Locale.ROOT, "%s: shm %.2f MB, tcp %.2f MB, verbs %.2f MB (Spark's remote shuffle read"
        + " %.2f MB)", variant, shm / 1e6, tcp / 1e6, verbs / 1e6, remote / 1e6);
  }

  /** The targets missed, one line each: only verdicts the spread decides (empty when met, undecided or not measured). */
  List<String> missed() {
    List<String> out = new ArrayList<>();
    List<TpcdsBenchmark.QueryResult> done = completed();
    if (!hasTargets() || done.isEmpty()) {
      return out;
    }
    if (totalVerdict().equals(Spread.MISSED)) {
      out.add(String.format(Locale.ROOT, "total vrdma-shm %s s vs stock %s s: every round above %.2f x stock",
          total(SHM).text(), total(BASE).text(), TOTAL_TARGET));
    }
    for (TpcdsBenchmark.QueryResult r : done) {
      if (queryVerdict(r).equals(Spread.MISSED)) {
        out.add(String.format(Locale.ROOT, "%s vrdma-shm %s s vs stock %s s: every round above %.2f x stock", r.query,
            spread(r, SHM).text(), spread(r, BASE).text(), QUERY_TARGET));
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

  /**
   * One line per query and variant (its timed rounds' median, min and max; round 1's rows and byte counts), then
   * one "total" line per variant (the spread of the per-round totals; round 1's bytes summed). target_verdict: for
   * vrdma-shm, the verdict on its target against stock (per query, or the total's).
   */
  String csv() {
    StringBuilder csv = new StringBuilder("query,variant,rounds,median_s,min_s,max_s,rows,rows_sha256_16,"
        + "shuffle_read_bytes,remote_read_bytes,shuffle_written_bytes,shm_tier_bytes,tcp_tier_bytes,verbs_tier_bytes,"
        + "ratio_vs_stock,status,target_verdict\n");
    for (TpcdsBenchmark.QueryResult r : results) {
      for (String v : o.variants()) {
        List<VariantProcess.Answer> as = r.answers.get(v);
        if (r.unsupported != null || as.isEmpty()) {
          csv.append(r.query).append(',').append(v).append(",0,,,,,,,,,,,,,")
              .append(r.unsupported != null ? "unsupported" : "failed").append(",\n");
          continue;
        }
        Spread sp = Spread.of(seconds(as));
        String ratio = hasRatios() && !r.answers.get(BASE).isEmpty()
            ? String.format(Locale.ROOT, "%.4f", sp.median() / median(r.answers.get(BASE))) : "";
        String[] f = as.get(0).fields();
        csv.append(String.join(",", r.query, v, Integer.toString(as.size()), seconds3(sp), f[3], f[4], f[5], f[6],
            f[7], f[8], f[9], f[10], ratio, complete(r) ? (hashes(r).size() == 1 ? "ok" : "rows-differ") : "failed",
            complete(r) && hasTargets() && v.equals(SHM) ? queryVerdict(r) : "")).append('\n');
      }
    }
    List<TpcdsBenchmark.QueryResult> done = completed();
    if (!done.isEmpty()) {
      for (String v : o.variants()) {
        Spread t = total(v);
        StringBuilder bytes = new StringBuilder();
        for (int i = 5; i <= 10; i++) {
          int index = i;
          bytes.append(',').append(done.stream().mapToLong(r -> field(r, v, index)).sum());
        }
        csv.append("total,").append(v).append(',').append(o.rounds()).append(',').append(seconds3(t)).append(",,")
            .append(bytes).append(',').append(hasRatios() ? String.format(Locale.ROOT, "%.4f",
                t.median() / total(BASE).median()) : "")
            .append(',').append(done.size()).append("-queries,").append(hasTargets() && v.equals(SHM)
                ? totalVerdict() : "").append('\n');
      }
    }
    return csv.toString();
  }

  private static String seconds3(Spread s) {
    return String.format(Locale.ROOT, "%.3f,%.3f,%.3f", s.median(), s.min(), s.max());
  }

  /**
   * A dot per query and variant at the median seconds, with a vertical line from the fastest to the slowest round,
   * the variants side by side within each query (XChart; its error bars are symmetric, a min–max range is not).
   */
  void chart(Path png) throws IOException {
    List<TpcdsBenchmark.QueryResult> done = completed();
    List<String> queries = done.stream().map(r -> r.query).collect(Collectors.toList());
    int n = o.variants().size();
    int slot = n + 1; // x positions per query: one per variant and a gap
    int width = Math.max(900, 200 + queries.size() * n * 14);
    XYChart chart = new XYChartBuilder().width(width).height(560)
        .title(String.format(Locale.ROOT, "TPC-DS sf%s on %s, %d timed round(s)", TpcdsBenchmark.scaleText(o.scale()),
            o.hosts() == null ? "Spark local-cluster[2,1," + o.executorMb() + "]" : "separate hosts", o.rounds()))
        .xAxisTitle("query").yAxisTitle("seconds: median (dot), min–max (line)").build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setAxisTicksMarksVisible(false);
    // upright labels would not fit one per position, and XChart then drops all but the ends
    chart.getStyler().setXAxisLabelRotation(90);
    // the query's name under its first variant, nothing at the other positions (XChart gives up on ticks between
    // the ends when the first and last label read the same, so the labelled position is the first)
    chart.setCustomXAxisTickLabelsFormatter(x -> {
      long i = Math.round(x);
      return Math.abs(x - i) < 1e-6 && i >= 0 && i % slot == 0 && i / slot < queries.size()
          ? queries.get((int) (i / slot)) : " ";
    });
    // an invisible series at every position: XChart puts a tick at each x value when they are equally spaced
    double[] grid = new double[Math.max(queries.size(), 1) * slot];
    for (int i = 0; i < grid.length; i++) {
      grid[i] = i;
    }
    XYSeries positions = chart.addSeries(" ", grid, new double[grid.length]);
    positions.setShowInLegend(false);
    positions.setMarker(SeriesMarkers.NONE);
    positions.setLineColor(new Color(0, 0, 0, 0));
    Color[] palette = chart.getStyler().getSeriesColors();
    for (int k = 0; k < n; k++) {
      String v = o.variants().get(k);
      Color color = palette[k % palette.length];
      String name = v;
      if (hasRatios() && !v.equals(BASE) && !done.isEmpty()) {
        name = String.format(Locale.ROOT, "%s (total %.2f x stock)", v, total(v).median() / total(BASE).median());
      }
      double[] xs = new double[Math.max(done.size(), 1)];
      double[] ys = new double[xs.length];
      for (int i = 0; i < done.size(); i++) {
        Spread s = spread(done.get(i), v);
        xs[i] = i * slot + k;
        ys[i] = s.median();
        XYSeries range = chart.addSeries(v + " range " + i, new double[] {xs[i], xs[i]}, new double[] {s.min(),
            s.max()});
        range.setShowInLegend(false);
        range.setMarker(SeriesMarkers.NONE);
        range.setLineColor(color);
        range.setLineStyle(new BasicStroke(2f));
      }
      XYSeries dots = chart.addSeries(name, xs, ys);
      dots.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
      dots.setMarker(SeriesMarkers.CIRCLE);
      dots.setMarkerColor(color);
    }
    String file = png.toString();
    BitmapEncoder.saveBitmap(chart, file.endsWith(".png") ? file.substring(0, file.length() - 4) : file,
        BitmapEncoder.BitmapFormat.PNG);
  }
}
