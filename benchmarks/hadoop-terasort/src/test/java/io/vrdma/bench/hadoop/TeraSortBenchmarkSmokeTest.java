package io.vrdma.bench.hadoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A few thousand rows, one round, every config: TeraValidate passes on each output and the table is written. */
class TeraSortBenchmarkSmokeTest {
  @TempDir
  Path out;

  @Test
  void everyConfigSortsAndValidatesOverItsOwnPath() throws Exception {
    String md = TeraSortBenchmark.run(TeraSortBenchmark.parse(new String[] {
        "--rows", "5000", "--reducers", "2", "--rounds", "1", "--out", out.toString()}));
    assertEquals(md, Files.readString(out.resolve("terasort-benchmark.md")));
    assertTrue(md.contains("| stock |"), md);
    assertTrue(md.contains("| vrdma |"), md);
    assertTrue(md.contains("| vrdma-tiers |"), md);
    // as installed, our plugin read every map output from the local dirs (one host); with host-local reads off,
    // over our tiers; none fell back
    assertTrue(md.matches("(?s).*round 1 vrdma: [0-9.]+ / [0-9.]+ / [0-9.]+ / [0-9.]+; [1-9][0-9]* / 0 / 0\n.*"), md);
    assertTrue(md.matches("(?s).*round 1 vrdma-tiers: [0-9.]+ / [0-9.]+ / [0-9.]+ / [0-9.]+; 0 / [1-9][0-9]* / 0\n.*"), md);
    assertTrue(md.matches("(?s).*round 1 stock: [0-9.]+ / [0-9.]+ / [0-9.]+ / [0-9.]+; 0 / 0 / 0\n.*"), md);
  }

  @Test
  void flags() {
    assertNull(TeraSortBenchmark.parse(new String[] {"--help"}));
    TeraSortBenchmark.Options o = TeraSortBenchmark.parse(new String[] {"--configs", "vrdma", "--rows", "10",
        "--maps", "16"});
    assertEquals(List.of("vrdma"), o.configs());
    assertEquals(10, o.rows());
    assertEquals(16, o.maps());
    assertThrows(IllegalArgumentException.class, () -> TeraSortBenchmark.parse(new String[] {"--configs", "x"}));
    assertThrows(IllegalArgumentException.class,
        () -> TeraSortBenchmark.parse(new String[] {"--configs", "stock,vrdma-tiers-warm"}));
    assertEquals(List.of("vrdma-tiers-warm"), TeraSortBenchmark.parse(new String[] {"--configs", "vrdma-tiers-warm",
        "--warm-up-agent", "plugin.jar"}).configs());
    assertThrows(IllegalArgumentException.class, () -> TeraSortBenchmark.parse(new String[] {"--rows", "0"}));
    assertThrows(IllegalArgumentException.class, () -> TeraSortBenchmark.parse(new String[] {"--rows"}));
    assertThrows(IllegalArgumentException.class, () -> TeraSortBenchmark.parse(new String[] {"--bogus", "1"}));
  }
}
