package io.vrdma.bench.tpcds;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The report's arithmetic on made-up answers: ratios to stock and to the no-transfer bound. */
class ReportTest {
  private static TpcdsBenchmark.Options options(List<String> variants) throws Exception {
    return TpcdsBenchmark.parse(new String[] {"--variants", String.join(",", variants),
        "--queries", "q3", "--out", Path.of("unused").toString()});
  }

  private static TpcdsBenchmark.QueryResult result(Map<String, Double> seconds) {
    TpcdsBenchmark.QueryResult r = new TpcdsBenchmark.QueryResult("q3", List.copyOf(seconds.keySet()));
    seconds.forEach((variant, s) -> r.answers.get(variant).add(new VariantProcess.Answer("OK", "q3",
        ("OK q3 " + s + " 89 abc 1000 500 1000 0 0").split(" "), "")));
    return r;
  }

  @Test
  void boundLineGivesTheNoTransferVariantAgainstStockAndOursAgainstIt() throws Exception {
    List<String> variants = List.of("stock", "stock-hostlocal", "vrdma-shm");
    Report report = new Report(options(variants), List.of(result(
        new LinkedHashMap<>(Map.of("stock", 10.0, "stock-hostlocal", 9.5, "vrdma-shm", 9.0)))));
    String md = report.markdown();
    assertTrue(md.contains("stock-hostlocal (each reducer reads the other executor's files from disk, nothing moves)"
        + " total = 0.95 x stock; vrdma-shm = 0.95 x that bound."), md);
    assertTrue(md.contains("Targets: total vrdma-shm / stock = 0.90 (target <= 0.90: met)"), md);
  }

  @Test
  void noBoundLineWithoutTheNoTransferVariant() throws Exception {
    Report report = new Report(options(List.of("stock", "vrdma-shm")), List.of(result(
        new LinkedHashMap<>(Map.of("stock", 10.0, "vrdma-shm", 9.5)))));
    String md = report.markdown();
    assertFalse(md.contains("No-transfer bound"), md);
    assertTrue(md.contains("total vrdma-shm / stock = 0.95 (target <= 0.90: MISSED)"), md);
  }
}
