package io.vrdma.bench.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner end to end with tiny numbers: 4000 records, one round, stock and ours on shm, each in its own
 * local-cluster; the checksums must agree and the table must have both rows. It asserts no target (the report
 * measures them, timed unit tests never do).
 */
class ShuffleJobBenchmarkSmokeTest {
  @TempDir
  Path out;

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void tinyRunPrintsStockAndShm() throws Exception {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    int exit = ShuffleJobBenchmark.run(new String[] {"--records", "4000", "--partitions", "4", "--rounds", "1",
        "--configs", "stock,vrdma-shm", "--executor-mb", "1024", "--out", out.toString()},
        new PrintStream(printed, true, StandardCharsets.UTF_8), new PrintStream(errors, true, StandardCharsets.UTF_8));
    assertEquals(0, exit, errors.toString(StandardCharsets.UTF_8));
    String md = Files.readString(out.resolve(ShuffleJobBenchmark.REPORT_MD));
    String number = "[0-9]+(\\.[0-9]+)?";
    for (String config : new String[] {"stock", "vrdma-shm"}) {
      java.util.regex.Matcher row = Pattern.compile("\\| " + config + " \\| " + number + " \\| " + number + " \\| "
          + number + " \\| (" + number + ") \\| " + number + " \\| " + number + " \\|").matcher(md);
      assertTrue(row.find(), config + " missing in\n" + md);
      // the executor JVMs were found and measured: a job cannot cost them no CPU at all
      assertTrue(Double.parseDouble(row.group(4)) > 0, config + " has no executor CPU in\n" + md);
    }
    assertTrue(md.contains("All rounds' checksums equal"), md);
  }

  @Test
  void badFlagsGiveOneLineAndExitTwo() {
    for (String[] args : new String[][] {{"--records", "x"}, {"--configs", "nope"}, {"--bogus", "1"}, {"--rounds"}}) {
      ByteArrayOutputStream errors = new ByteArrayOutputStream();
      int exit = ShuffleJobBenchmark.run(args, new PrintStream(new ByteArrayOutputStream(), true,
          StandardCharsets.UTF_8), new PrintStream(errors, true, StandardCharsets.UTF_8));
      assertEquals(2, exit);
      String err = errors.toString(StandardCharsets.UTF_8).strip();
      assertTrue(err.startsWith("error: ") && !err.contains("\n"), err);
    }
  }

  @Test
  void helpExitsZero() {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    assertEquals(0, ShuffleJobBenchmark.run(new String[] {"--help"}, new PrintStream(printed, true,
        StandardCharsets.UTF_8), System.err));
    assertTrue(printed.toString(StandardCharsets.UTF_8).contains("--records"));
  }
}
