package io.vrdma.bench.tpcds;

import io.vrdma.bench.cli.BadFlag;
import io.vrdma.bench.cli.Cli;
import io.vrdma.bench.cli.Flags;
import java.io.IOException;
import java.io.PrintStream;
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
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.style.Styler;

/**
 * The separate-hosts benchmark's report ({@code benchmarks/hosts/run-hosts.sh}): reads the synthetic job's CSV of
 * every link speed and compression setting under {@code --in} ({@code <link>-compress-<on|off>/spark-shuffle-
 * benchmark.csv}) and writes one table per link speed (median and min–max wall time per variant, ratios to stock
 * and to the no-transfer bound, bytes per tier), a verdict per target only where the rounds' spread allows one,
 * and a PNG per compression setting of time vs link speed per variant (XChart). Checks that every variant read
 * the same records (checksums equal). {@code java @benchmarks/tpcds/target/tpcds.args --job hosts-report --in DIR}.
 * Exit 0 whatever the timings (MISSED lines), 1 when checksums differ or no results are found, 2 for bad flags.
 */
final class HostsReport {
  static final String MD = "hosts-report.md";
  static final String PNG_PREFIX = "hosts-chart-compress-";
  /** Link speeds in the order of the chart's axis: slowest first. */
  static final List<String> LINK_ORDER = List.of("1gbit", "10gbit", "25gbit", "unshaped");
  static final List<String> VARIANT_ORDER = List.of("stock", "vrdma-tcp", "vrdma-shm", "stock-hostlocal");
  /** vrdma-shm at most this times the bound; vrdma-tcp at most this times stock (issue 18's targets). */
  static final double SHM_VS_BOUND = 1.05;
  static final double TCP_VS_STOCK = 1.0;

  private static final String USAGE = String.join("\n",
      "usage: java @benchmarks/tpcds/target/tpcds.args --job hosts-report --in DIR [--out DIR]",
      "  --in DIR    the --out folder of benchmarks/hosts/run-hosts.sh (its <link>-compress-<on|off>/ folders)",
      "  --out DIR   where " + MD + " and " + PNG_PREFIX + "<on|off>.png go (default: --in)",
      "Exit 0 whatever the timings (MISSED lines), 1 when checksums differ or nothing was found, 2 for bad flags.");

  private HostsReport() {}

  record Options(Path in, Path out) {}

  /** One CSV line: one timed round of one variant. */
  record Row(String link, String compress, String config, double wall, double cpu, long written, long remote,
      long shm, long tcp, String checksum, long records) {}

  static int run(String[] args, PrintStream stdout, PrintStream stderr) {
    return Cli.run(args, USAGE, stdout, stderr, HostsReport::parse, o -> report(o, stdout, stderr));
  }

  static Options parse(String[] args) {
    Path in = null;
    Path out = null;
    Flags f = new Flags(args);
    while (f.next()) {
      switch (f.flag()) {
        case "--in" -> in = f.path();
        case "--out" -> out = f.path();
        default -> throw f.unknown();
      }
    }
    if (f.helpRequested()) {
      return null;
    }
    if (in == null) {
      throw new BadFlag("--in DIR is required");
    }
    return new Options(in, out == null ? in : out);
  }

  static List<Row> read(Path in) throws IOException {
    List<Row> rows = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(in)) {
      for (Path d : dirs.sorted().collect(Collectors.toList())) {
        Path csv = d.resolve("spark-shuffle-benchmark.csv");
        if (!Files.isRegularFile(csv)) {
          continue;
        }
        List<String> lines = Files.readAllLines(csv);
        List<String> head = Arrays.asList(lines.get(0).split(","));
        for (String line : lines.subList(1, lines.size())) {
          String[] c = line.split(",");
          String link = c[head.indexOf("link")].split(" ")[0];
          rows.add(new Row(link, c[head.indexOf("compress")].equals("true") ? "on" : "off",
              c[head.indexOf("config")], Double.parseDouble(c[head.indexOf("wall_s")]),
              Double.parseDouble(c[head.indexOf("executor_cpu_s")]),
              Long.parseLong(c[head.indexOf("shuffle_written_bytes")]),
              Long.parseLong(c[head.indexOf("remote_read_bytes")]), Long.parseLong(c[head.indexOf("shm_tier_bytes")]),
              Long.parseLong(c[head.indexOf("tcp_tier_bytes")]), c[head.indexOf("checksum")],
              Long.parseLong(c[head.indexOf("records")])));
        }
      }
    }
    return rows;
  }

  /** The spread of a variant's wall times over its rounds, and its first round's CPU and byte counts. */
  record Stat(Spread wall, double cpu, long written, long remote, long shm, long tcp) {
    static Stat of(List<Row> rs) {
      return new Stat(Spread.of(rs.stream().mapToDouble(Row::wall).toArray()),
          Spread.of(rs.stream().mapToDouble(Row::cpu).toArray()).median(), rs.get(0).written(), rs.get(0).remote(),
          rs.get(0).shm(), rs.get(0).tcp());
    }

    double median() {
      return wall.median();
    }
  }

  private static int report(Options o, PrintStream stdout, PrintStream stderr) throws IOException {
    List<Row> rows = read(o.in());
    if (rows.isEmpty()) {
      stderr.println("error: no */spark-shuffle-benchmark.csv under " + o.in());
      return 1;
    }
    // group: compress -> link -> variant -> rounds
    Map<String, Map<String, Map<String, List<Row>>>> g = new TreeMap<>((a, b) -> b.compareTo(a)); // off first
    for (Row r : rows) {
      g.computeIfAbsent(r.compress(), k -> new TreeMap<>((a, b) -> Integer.compare(linkIndex(a), linkIndex(b))))
          .computeIfAbsent(r.link(), k -> new TreeMap<>((a, b) -> Integer.compare(variantIndex(a), variantIndex(b))))
          .computeIfAbsent(r.config(), k -> new ArrayList<>()).add(r);
    }
    List<String> errors = new ArrayList<>();
    List<String> missed = new ArrayList<>();
    StringBuilder md = new StringBuilder();
    Row first = rows.get(0);
    md.append(String.format(Locale.ROOT, "Synthetic shuffle job (%d records x 1 KiB, incompressible) on a Spark 3.5.9"
        + " standalone cluster of separate hosts (Linux network namespaces, veth + bridge, 198.18.0.0/15): two"
        + " executors of one core on two worker hosts; the bound runs both executors on one host sharing local"
        + " dirs. Wall seconds of the job: median [min–max] over the rounds.%n", first.records()));
    Path probe = o.in().resolve("link-probe.txt");
    if (Files.isRegularFile(probe)) {
      // what each emulation gave one TCP stream between the worker hosts (run-hosts.sh, LinkProbe.java)
      md.append(String.format(Locale.ROOT, "%nOne TCP stream worker 1 → worker 2 per link emulation: %s.%n",
          String.join("; ", Files.readAllLines(probe))));
    }
    for (Map.Entry<String, Map<String, Map<String, List<Row>>>> ce : g.entrySet()) {
      String compress = ce.getKey();
      Set<String> checksums = new LinkedHashSet<>();
      ce.getValue().values().forEach(m -> m.values().forEach(l -> l.forEach(r -> checksums.add(r.checksum()))));
      if (checksums.size() != 1) {
        errors.add("spark.shuffle.compress=" + compress + ": checksums differ across variants and links: " + checksums);
      }
      md.append(String.format(Locale.ROOT, "%n### spark.shuffle.compress=%s%n", compress.equals("on") ? "true"
          : "false"));
      for (Map.Entry<String, Map<String, List<Row>>> le : ce.getValue().entrySet()) {
        String link = le.getKey();
        Map<String, Stat> st = new LinkedHashMap<>();
        le.getValue().forEach((v, rs) -> st.put(v, Stat.of(rs)));
        Stat stock = st.get("stock");
        Stat bound = st.get("stock-hostlocal");
        md.append(String.format(Locale.ROOT, "%n**link %s**%n%n", link));
        md.append("| variant | wall s median [min–max] | / stock | / bound | executor CPU s | remote MB | shm MB |"
            + " tcp MB | target | verdict |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
        for (Map.Entry<String, Stat> e : st.entrySet()) {
          String v = e.getKey();
          Stat s = e.getValue();
          String target = "";
          String verdict = "";
          if (v.equals("vrdma-shm") && bound != null) {
            target = String.format(Locale.ROOT, "<= %.2f x bound", SHM_VS_BOUND);
            verdict = Spread.verdict(s.wall(), bound.wall(), SHM_VS_BOUND);
          } else if (v.equals("vrdma-tcp") && stock != null) {
            target = String.format(Locale.ROOT, "<= %.2f x stock", TCP_VS_STOCK);
            verdict = Spread.verdict(s.wall(), stock.wall(), TCP_VS_STOCK);
          } else if (v.equals("stock")) {
            target = "(baseline)";
          } else if (v.equals("stock-hostlocal")) {
            target = "(bound: no transfer)";
          }
          if (verdict.equals(Spread.MISSED)) {
            missed.add(String.format(Locale.ROOT, "compress %s, link %s: %s %.2f s vs %s (%s)", compress, link, v,
                s.median(), target, v.equals("vrdma-shm") ? String.format(Locale.ROOT, "bound %.2f s",
                    bound.median()) : String.format(Locale.ROOT, "stock %.2f s", stock.median())));
          }
          md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.1f | %.1f | %.1f | %.1f | %s |"
              + " %s |%n", v, s.wall().text(), stock == null ? "-" : fmt(s.median() / stock.median()),
              bound == null ? "-" : fmt(s.median() / bound.median()), s.cpu(), s.remote() / 1e6, s.shm() / 1e6,
              s.tcp() / 1e6, target, verdict));
        }
      }
      chart(o.out().resolve(PNG_PREFIX + compress + ".png"), compress, ce.getValue(), first.records());
    }
    md.append(String.format(Locale.ROOT, "%nRecords read back equal under every variant and link (checksum): %s."
        + " Remote MB: Spark's remote bytes read (task metrics); shm/tcp MB: bytes our block client moved per tier."
        + " Verdicts only where the rounds' spread decides (met: the slowest round within the target of the"
        + " reference's fastest; MISSED: the fastest beyond it of the slowest; a single round decides nothing)."
        + " MB = 10^6 B.%n",
        errors.isEmpty() ? "yes" : "**NO**"));
    Files.createDirectories(o.out());
    Files.writeString(o.out().resolve(MD), md.toString());
    stdout.print(md);
    stderr.println("wrote " + o.out().resolve(MD) + " and " + PNG_PREFIX + "{" + String.join(",", g.keySet())
        + "}.png");
    missed.forEach(m -> stdout.println("MISSED: " + m));
    errors.forEach(e -> stderr.println("error: " + e));
    return errors.isEmpty() ? 0 : 1;
  }

  private static int linkIndex(String link) {
    int i = LINK_ORDER.indexOf(link);
    return i < 0 ? LINK_ORDER.size() : i;
  }

  private static int variantIndex(String v) {
    int i = VARIANT_ORDER.indexOf(v);
    return i < 0 ? VARIANT_ORDER.size() : i;
  }

  /** Time vs link speed, one line per variant (median), for one compression setting. */
  static void chart(Path png, String compress, Map<String, Map<String, List<Row>>> byLink, long records)
      throws IOException {
    List<String> links = new ArrayList<>(byLink.keySet());
    CategoryChart chart = new CategoryChartBuilder().width(900).height(520)
        .title(String.format(Locale.ROOT, "Synthetic shuffle (%d x 1 KiB), separate hosts, spark.shuffle.compress=%s",
            records, compress.equals("on") ? "true" : "false"))
        .xAxisTitle("link (veth, tc)").yAxisTitle("job wall seconds (median)").build();
    chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setOverlapped(true); // a line per variant through the link categories, not side-by-side bars
    Set<String> variants = new LinkedHashSet<>();
    byLink.values().forEach(m -> variants.addAll(m.keySet()));
    for (String v : VARIANT_ORDER.stream().filter(variants::contains).collect(Collectors.toList())) {
      List<Double> ys = new ArrayList<>();
      for (String l : links) {
        List<Row> rs = byLink.get(l).get(v);
        ys.add(rs == null ? null : Stat.of(rs).median());
      }
      chart.addSeries(v, links, ys);
    }
    Files.createDirectories(png.getParent());
    String file = png.toString();
    BitmapEncoder.saveBitmap(chart, file.substring(0, file.length() - 4), BitmapEncoder.BitmapFormat.PNG);
  }

  private static String fmt(double x) {
    return String.format(Locale.ROOT, "%.2f", x);
  }
}
