package io.vrdma.bench.tpcds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report's arithmetic on made-up answers: spreads per query and of the per-round totals, verdicts only where
 * the spread decides, ratios to stock and to the no-transfer bound, bytes per tier.
 */
class ReportTest {
  private static TpcdsBenchmark.Options options(List<String> variants, int rounds) throws Exception {
    return TpcdsBenchmark.parse(new String[] {"--variants", String.join(",", variants), "--queries", "q3,q72",
        "--rounds", Integer.toString(rounds), "--out", Path.of("unused").toString()});
  }

  /** A query's answers: per variant its seconds round by round, and made-up byte counts by variant. */
  private static TpcdsBenchmark.QueryResult result(String query, Map<String, double[]> seconds) {
    TpcdsBenchmark.QueryResult r = new TpcdsBenchmark.QueryResult(query, List.copyOf(seconds.keySet()));
    seconds.forEach((variant, rounds) -> {
      // shuffle read, remote read, written, then bytes over shm, tcp, verbs
      String bytes = switch (variant) {
        case "vrdma-shm" -> "1000000 500000 1000000 500000 0 0";
        case "vrdma-tcp" -> "1000000 500000 1000000 0 500000 0";
        default -> "1000000 500000 1000000 0 0 0";
      };
      for (double s : rounds) {
        r.answers.get(variant).add(new VariantProcess.Answer("OK", query, ("OK " + query + " " + s + " 89 abc "
            + bytes).split(" "), ""));
      }
    });
    return r;
  }

  private static Map<String, double[]> times(Object... variantAndSeconds) {
    Map<String, double[]> m = new LinkedHashMap<>();
    for (int i = 0; i < variantAndSeconds.length; i += 2) {
      m.put((String) variantAndSeconds[i], (double[]) variantAndSeconds[i + 1]);
    }
    return m;
  }

  @Test
  void spreadsVerdictsAndTiersOverThreeRounds(@TempDir Path dir) throws Exception {
    List<String> variants = List.of("stock", "vrdma-shm", "vrdma-tcp");
    // q3: ours within 1.05 x stock's fastest in every round (met); q72: ours beyond stock's slowest (MISSED)
    Report report = new Report(options(variants, 3), List.of(
        result("q3", times("stock", new double[] {10, 11, 12}, "vrdma-shm", new double[] {9, 10.4, 10},
            "vrdma-tcp", new double[] {10, 11, 12})),
        result("q72", times("stock", new double[] {2, 2.2, 2.1}, "vrdma-shm", new double[] {3, 3, 3},
            "vrdma-tcp", new double[] {2, 2, 2}))));
    String md = report.markdown();
    assertTrue(md.contains("3 timed round(s) after 1 untimed warm-up round(s)"), md);
    assertTrue(md.contains("| q3 | 11.00 [10.00–12.00] | 10.00 [9.00–10.40] | 11.00 [10.00–12.00] | 0.91 | 1.00 | met |"),
        md);
    assertTrue(md.contains("| q72 | 2.10 [2.00–2.20] | 3.00 [3.00–3.00] | 2.00 [2.00–2.00] | 1.43 | 0.95 | MISSED |"),
        md);
    // totals per round: stock 12, 13.2, 14.1; vrdma-shm 12, 13.4, 13 -> overlapping the 0.90 target: undecided
    assertTrue(md.contains("| **total** (2 queries) | 13.20 [12.00–14.10] | 13.00 [12.00–13.40] |"), md);
    assertTrue(md.contains("total <= 0.90 x stock: undecided (spread) |"), md);
    assertTrue(md.contains("per query (none above 1.05 x stock): met for 1, MISSED for 1 (q72)."), md);
    assertTrue(md.contains("- vrdma-shm: shm 1.00 MB, tcp 0.00 MB, verbs 0.00 MB (Spark's remote shuffle read"
        + " 1.00 MB)"), md);
    assertTrue(md.contains("- vrdma-tcp: shm 0.00 MB, tcp 1.00 MB,"), md);
    assertTrue(md.contains("- stock: 1.00 MB remote shuffle read, by Spark's own shuffle (Netty block transfer)"), md);
    assertEquals(List.of("q72 vrdma-shm 3.00 [3.00–3.00] s vs stock 2.10 [2.00–2.20] s: every round above 1.05 x"
        + " stock"), report.missed());

    List<String> csv = List.of(report.csv().split("\n"));
    assertEquals(1 + 2 * 3 + 3, csv.size(), String.join("\n", csv));
    assertTrue(csv.contains("q72,vrdma-shm,3,3.000,3.000,3.000,89,abc,1000000,500000,1000000,500000,0,0,1.4286,ok,"
        + "MISSED"), String.join("\n", csv));
    assertTrue(csv.contains("total,vrdma-shm,3,13.000,12.000,13.400,,,2000000,1000000,2000000,1000000,0,0,0.9848,"
        + "2-queries,undecided (spread)"), String.join("\n", csv));
    Path png = dir.resolve(Report.PNG);
    report.chart(png);
    assertTrue(Files.size(png) > 1000, "chart of " + Files.size(png) + " bytes");
  }

  @Test
  void oneRoundGivesNoVerdict() throws Exception {
    Report report = new Report(options(List.of("stock", "vrdma-shm"), 1), List.of(
        result("q3", times("stock", new double[] {10}, "vrdma-shm", new double[] {30}))));
    String md = report.markdown();
    assertTrue(md.contains("| q3 | 10.00 [10.00–10.00] | 30.00 [30.00–30.00] | 3.00 | undecided (1 round: no spread) |"),
        md);
    assertTrue(report.missed().isEmpty(), report.missed().toString());
  }

  @Test
  void boundLineGivesTheNoTransferVariantAgainstStockAndOursAgainstIt() throws Exception {
    Report report = new Report(options(List.of("stock", "stock-hostlocal", "vrdma-shm"), 2), List.of(
        result("q3", times("stock", new double[] {10, 10}, "stock-hostlocal", new double[] {9.5, 9.5},
            "vrdma-shm", new double[] {9, 9}))));
    String md = report.markdown();
    assertTrue(md.contains("stock-hostlocal (each reducer reads the other executor's files from disk, nothing moves)"
        + " total = 0.95 x stock; vrdma-shm = 0.95 x that bound."), md);
    assertTrue(md.contains("total vrdma-shm / stock = 0.90 by the medians (target <= 0.90: met)"), md);
    assertTrue(md.contains("- stock-hostlocal: 0.50 MB remote shuffle read, by Spark's own shuffle (the other"
        + " executor's files read from disk)"), md);
    assertFalse(noBound().contains("No-transfer bound"));
  }

  private static String noBound() throws Exception {
    return new Report(options(List.of("stock", "vrdma-shm"), 2), List.of(
        result("q3", times("stock", new double[] {10, 10}, "vrdma-shm", new double[] {9.5, 9.5})))).markdown();
  }
}
