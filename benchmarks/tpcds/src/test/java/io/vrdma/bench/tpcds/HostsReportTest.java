package io.vrdma.bench.tpcds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The separate-hosts report on made-up CSV rows: tables per link, spread-aware verdicts, checksum check, chart. */
class HostsReportTest {
  private static final String HEAD = "cluster,link,compress,records,value_bytes,partitions,config,round,wall_s,"
      + "executor_cpu_s,task_cpu_s,shuffle_written_bytes,shuffle_read_bytes,remote_read_bytes,shm_tier_bytes,"
      + "tcp_tier_bytes,checksum\n";

  private static String row(String link, String config, int round, double wall, String checksum) {
    return String.join(",", "hosts", link, "false", "1000", "1024", "8", config, Integer.toString(round),
        Double.toString(wall), "1.0", "0.5", "1000000", "1000000", "500000",
        config.equals("vrdma-shm") ? "500000" : "0", config.equals("vrdma-tcp") ? "500000" : "0", checksum) + "\n";
  }

  private static int run(Path in, ByteArrayOutputStream out) {
    return HostsReport.run(new String[] {"--in", in.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  @Test
  void verdictsOnlyWhereTheSpreadDecides(@TempDir Path dir) throws Exception {
    Path d = Files.createDirectories(dir.resolve("compress-off"));
    StringBuilder csv = new StringBuilder(HEAD);
    for (String link : new String[] {"1gbit", "unshaped"}) {
      csv.append(row(link, "stock", 1, 10.0, "ab")).append(row(link, "stock", 2, 11.0, "ab"));
      csv.append(row(link, "stock-hostlocal", 1, 5.0, "ab")).append(row(link, "stock-hostlocal", 2, 5.2, "ab"));
      // 1gbit: within 1.05 x the bound in every round (met); unshaped: overlapping the limit (undecided)
      double shm = link.equals("1gbit") ? 5.1 : 5.3;
      csv.append(row(link, "vrdma-shm", 1, shm, "ab")).append(row(link, "vrdma-shm", 2, 5.0, "ab"));
      // tcp slower than stock's slowest round at both links: MISSED
      csv.append(row(link, "vrdma-tcp", 1, 12.0, "ab")).append(row(link, "vrdma-tcp", 2, 12.5, "ab"));
    }
    Files.writeString(d.resolve("spark-shuffle-benchmark.csv"), csv);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertEquals(0, run(dir, out));
    String md = out.toString(StandardCharsets.UTF_8);
    assertTrue(md.indexOf("**link 1gbit**") < md.indexOf("**link unshaped**"), md);
    assertTrue(md.contains("| vrdma-shm | 5.05 [5.00–5.10] | 0.48 | 0.99 |"), md);
    assertTrue(md.contains("<= 1.05 x bound | met |"), md);
    assertTrue(md.contains("<= 1.05 x bound | undecided (spread) |"), md);
    assertTrue(md.contains("MISSED: compress off, link 1gbit: vrdma-tcp 12.25 s vs <= 1.00 x stock"), md);
    assertTrue(Files.size(dir.resolve("hosts-chart-compress-off.png")) > 1000);
    assertTrue(Files.readString(dir.resolve(HostsReport.MD)).contains("(checksum): yes"));
  }

  @Test
  void differentChecksumsFailTheReport(@TempDir Path dir) throws Exception {
    Path d = Files.createDirectories(dir.resolve("compress-off"));
    Files.writeString(d.resolve("spark-shuffle-benchmark.csv"), HEAD + row("1gbit", "stock", 1, 10.0, "ab")
        + row("1gbit", "vrdma-shm", 1, 5.0, "cd"));
    assertEquals(1, run(dir, new ByteArrayOutputStream()));
  }

  @Test
  void nothingToReportIsAFailureAndNoInIsABadFlag(@TempDir Path dir) {
    assertEquals(1, run(dir, new ByteArrayOutputStream()));
    assertEquals(2, HostsReport.run(new String[] {}, new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(new ByteArrayOutputStream())));
  }
}
