package io.vrdma.bench.tpcds;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.trino.tpcds.Table;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TPC-DS runner end to end at a tiny scale (three short queries on generated data, three shuffle variants, each
 * its own local-cluster), and its parts: flags, query texts, generation passes, the row hash. It asserts equal rows
 * and a complete report, never a timing (the report measures the targets; timed unit tests never do).
 */
class TpcdsBenchmarkTest {
  @TempDir
  Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    // progress goes to the console as well, so that a slow CI run shows where it is
    PrintStream errTee = new PrintStream(new java.io.OutputStream() {
      @Override
      public void write(int b) {
        err.write(b);
        System.err.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        err.write(b, off, len);
        System.err.write(b, off, len);
      }
    }, true, StandardCharsets.UTF_8);
    int exit = TpcdsBenchmark.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), errTee);
    return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void tinyScaleReturnsTheSameRowsUnderEveryShuffleAndWritesTheReport() throws Exception {
    assumeTrue(Files.isDirectory(Path.of("/dev/shm")) && Files.isWritable(Path.of("/dev/shm")),
        "skipped: /dev/shm is not a writable directory here, and the vrdma-shm variant needs its arena file there");
    Path cache = dir.resolve("cache");
    Path out = dir.resolve("out");
    // one timed round and no warm-up: this checks rows and the report's shape, not timings, and stays short
    Run r = run("--scale", "0.01", "--queries", "q3,q42,q55", "--cache", cache.toString(), "--out", out.toString(),
        "--executor-mb", "1024", "--driver-mb", "768", "--shuffle-partitions", "16", "--arena", "256m",
        "--rounds", "1", "--warmup", "0");
    assertEquals(0, r.exit(), r.err());

    // the data: generated once, the returns table from its sales table's pass, nothing left to make
    Path data = cache.resolve("sf0.01");
    for (String t : List.of("store_sales", "store_returns", "date_dim", "item")) {
      assertTrue(TpcdsData.present(data, t), t + " not generated");
    }
    assertTrue(TpcdsData.size(data.resolve("store_returns")) > 10_000, "store_returns is (nearly) empty");
    assertTrue(TpcdsData.passes(data, Set.of("store_sales", "store_returns", "date_dim", "item")).isEmpty());

    // the report: markdown (also printed), CSV, PNG
    String md = Files.readString(out.resolve(Report.MD));
    assertEquals(md, r.out().substring(0, md.length()));
    assertTrue(md.contains("for 3 of 3 queries run"), md);
    assertTrue(md.contains("- vrdma-shm: shm "), md);
    byte[] png = Files.readAllBytes(out.resolve(Report.PNG));
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
    List<String> csv = Files.readAllLines(out.resolve(Report.CSV));
    // a line per query and variant, then a total per variant
    assertEquals(1 + 3 * 3 + 3, csv.size(), String.join("\n", csv));
    assertTrue(csv.get(10).startsWith("total,stock,1,"), csv.get(10));
    Map<String, String> hashByQuery = new HashMap<>();
    for (String line : csv.subList(1, 10)) {
      String[] f = line.split(",", -1);
      String query = f[0];
      String variant = f[1];
      assertEquals("ok", f[15], line);
      assertTrue(Long.parseLong(f[6]) > 0, "no rows: " + line);
      String before = hashByQuery.putIfAbsent(query, f[7]);
      assertTrue(before == null || before.equals(f[7]), "rows differ: " + line);
      long remote = Long.parseLong(f[9]);
      long shm = Long.parseLong(f[11]);
      long tcp = Long.parseLong(f[12]);
      switch (variant) {
        case "stock" -> assertEquals(0, shm + tcp, "stock moved bytes through our tiers: " + line);
        // every remote block of ours goes through our block client, on the tier the variant allows
        case "vrdma-shm" -> assertEquals(List.of(remote, 0L), List.of(shm, tcp), line);
        case "vrdma-tcp" -> assertEquals(List.of(0L, remote), List.of(shm, tcp), line);
        default -> throw new AssertionError(line);
      }
    }
    assertTrue(r.err().contains("[9/9] round 1"), r.err());
  }

  @Test
  void badFlagsAndMissingDataGiveOneLineAndExitTwo() throws Exception {
    Path empty = Files.createDirectories(dir.resolve("empty"));
    for (String[] args : new String[][] {{"--scale", "0"}, {"--scale", "x"}, {"--queries", "q999"},
        {"--variants", "nope"}, {"--bogus", "1"}, {"--rounds"}, {"--rounds", "0"}, {"--arena", "lots"},
        {"--data", dir.resolve("nope").toString()}, {"--data", empty.toString(), "--queries", "q3"},
        {"--job", "x"}, {"--rounds", "1", "--job", "synthetic"}, {"--job", "synthetic", "--records", "x"},
        {"--cluster", "hosts"}, {"--master", "spark://198.18.0.2:7077"}, {"--cluster", "elsewhere"},
        {"--job", "synthetic", "--cluster", "hosts"}, {"--job", "hosts-report"}}) {
      Run r = run(args);
      assertEquals(2, r.exit(), String.join(" ", args) + ": " + r.err());
      String err = r.err().strip();
      assertTrue(err.startsWith("error: ") && !err.contains("\n"), err);
    }
  }

  @Test
  void helpDocumentsEveryFlag() {
    Run r = run("--help");
    assertEquals(0, r.exit());
    for (String flag : List.of("--scale", "--queries", "--rounds", "--warmup", "--variants", "--cache", "--data",
        "--gen-threads", "--executor-mb", "--driver-mb", "--shuffle-partitions", "--arena", "--out", "--job",
        "--help")) {
      assertTrue(r.out().contains("  " + flag + " "), flag + " not in\n" + r.out());
    }
  }

  @Test
  void defaultRunWarmsUpOnceAndTimesThreeRoundsOfTheEightQueriesAtSfPointOne() {
    TpcdsBenchmark.Options o = TpcdsBenchmark.parse(new String[] {});
    assertEquals(1, o.warmup());
    assertEquals(3, o.rounds());
    assertEquals(0.1, o.scale());
    assertEquals(List.of("q3", "q19", "q42", "q55", "q14a", "q64", "q72", "q95"), o.queries());
    assertEquals(List.of("stock", "vrdma-shm", "vrdma-tcp"), o.variants());
    TpcdsBenchmark.Options one = TpcdsBenchmark.parse(new String[] {"--rounds", "1", "--warmup", "0"});
    assertEquals(List.of(1, 0), List.of(one.rounds(), one.warmup()));
    Run help = run("--help");
    assertTrue(help.out().contains("(default 3)") && help.out().contains("before the timed ones (default 1)"),
        help.out());
  }

  @Test
  void hostsClusterPutsTheBoundOnItsOwnMasterAndTheArenaInTheHostsShm() throws Exception {
    TpcdsBenchmark.Options o = TpcdsBenchmark.parse(new String[] {"--cluster", "hosts", "--master",
        "spark://198.18.0.2:7077", "--bound-master", "spark://198.18.0.2:7078", "--driver-host", "198.18.0.2",
        "--executor-class-path", "/p.jar", "--variants", "stock,stock-hostlocal", "--executor-mb", "1024"});
    assertTrue(o.hostSettings("stock").startsWith("spark.master=spark://198.18.0.2:7077|"), o.hostSettings("stock"));
    assertTrue(o.hostSettings("stock-hostlocal").startsWith("spark.master=spark://198.18.0.2:7078|"));
    assertTrue(o.hostSettings("stock").contains("|spark.executor.memory=1024m|"));
    assertTrue(o.hostSettings("stock").contains("|spark.shuffle.vrdma.transport.shm.arenaPath=/dev/shm/vrdma-arena"));
    assertEquals(null, TpcdsBenchmark.parse(new String[] {"--help"}));
    assertEquals(null, TpcdsBenchmark.parse(new String[] {}).hostSettings("stock"));
  }

  @Test
  void syntheticJobIsReachableFromTheSameEntryPoint() {
    Run r = run("--job", "synthetic", "--help");
    assertEquals(0, r.exit());
    assertTrue(r.out().contains("usage: ShuffleJobBenchmark"), r.out());
  }

  @Test
  void windowJobIsReachableFromTheSameEntryPoint() {
    Run r = run("--job", "window", "--help");
    assertEquals(0, r.exit());
    assertTrue(r.out().contains("usage: WindowBenchmark"), r.out());
    assertEquals(2, run("--job", "window", "--window-arena", "lots").exit());
  }

  @Test
  void everyQueryTextComesFromSparksTestJarAndNamesItsTables() {
    assertEquals(103, TpcdsQueries.ALL.size());
    for (String q : TpcdsQueries.ALL) {
      String sql = TpcdsQueries.text(q);
      assertTrue(sql.toLowerCase(java.util.Locale.ROOT).contains("select"), q);
      assertFalse(TpcdsQueries.tables(sql).isEmpty(), q + " names no table");
    }
    assertEquals(Set.of("catalog_sales", "inventory", "warehouse", "item", "customer_demographics",
        "household_demographics", "date_dim", "promotion", "catalog_returns"), TpcdsQueries.tables(
        TpcdsQueries.text("q72")));
  }

  @Test
  void aReturnsTableIsGeneratedInItsSalesTablesPass() {
    Map<Table, List<Table>> passes = TpcdsData.passes(dir, Set.of("web_returns", "date_dim"));
    assertEquals(Map.of(Table.WEB_SALES, List.of(Table.WEB_SALES, Table.WEB_RETURNS), Table.DATE_DIM,
        List.of(Table.DATE_DIM)), passes);
    assertEquals(24, TpcdsData.tables().size());
    assertEquals("sf0.01", TpcdsData.scaleName(0.01));
    assertEquals("sf1", TpcdsData.scaleName(1.0));
  }

  @Test
  void rowHashIgnoresRowOrderAndTheLastBitsOfDoublesButNotValues() {
    List<Row> rows = new ArrayList<>(List.of(RowFactory.create("a", 0.1 + 0.2, new BigDecimal("1.50"), null),
        RowFactory.create("b", 2.0, new BigDecimal("2.00"), 7L)));
    String h = VariantDriver.hash(rows);
    List<Row> reordered = List.of(RowFactory.create("b", 2.0, new BigDecimal("2.00"), 7L),
        RowFactory.create("a", 0.3, new BigDecimal("1.50"), null));
    assertEquals(h, VariantDriver.hash(reordered));
    assertNotEquals(h, VariantDriver.hash(List.of(RowFactory.create("b", 2.0, new BigDecimal("2.00"), 7L),
        RowFactory.create("a", 0.3001, new BigDecimal("1.50"), null))));
    assertNotEquals(h, VariantDriver.hash(List.of(RowFactory.create("b", 2.0, new BigDecimal("2.00"), 7L))));
  }
}
