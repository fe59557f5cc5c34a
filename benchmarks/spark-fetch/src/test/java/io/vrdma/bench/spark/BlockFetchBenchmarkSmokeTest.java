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
 * The runner end to end with tiny numbers: three peer processes (ours on shm and tcp, Spark's Netty) serve 20
 * blocks of 4 KiB and the table comes out with a row for each path. It shows that both sides run on the one
 * Netty the module resolves; it asserts no target (the report measures them, timed unit tests never do).
 */
class BlockFetchBenchmarkSmokeTest {
  @TempDir
  Path out;

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void tinyRunPrintsAllThreePaths() throws Exception {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    int exit = BlockFetchBenchmark.run(new String[] {"--sizes", "4k", "--blocks", "20", "--rounds", "1", "--warmup", "0", "--out",
        out.toString()}, new PrintStream(printed, true, StandardCharsets.UTF_8),
        new PrintStream(errors, true, StandardCharsets.UTF_8));
    assertEquals(0, exit, errors.toString(StandardCharsets.UTF_8));
    String md = Files.readString(out.resolve(BlockFetchBenchmark.REPORT_MD));
    String number = "[0-9]+(\\.[0-9]+)?";
    for (String path : BlockFetchBenchmark.PATHS) {
      assertTrue(Pattern.compile("\\| 4 KiB \\| 20 \\| " + path + " \\| " + number + " \\| " + number + " \\| "
          + number + " \\|").matcher(md).find(), path + " missing in\n" + md);
    }
    assertTrue(printed.toString(StandardCharsets.UTF_8).contains("| block size | blocks | path | blocks/s | GB/s |"));
  }

  @Test
  void badFlagsAreOneLineAndExitTwo() {
    for (String[] args : new String[][] {{"--bogus", "1"}, {"--sizes", "32m"}, {"--blocks", "0"},
        {"--paths", "rdma"}, {"--rounds"}, {"--warmup", "-1"}, {"--sizes", "1m", "--blocks", "4096"}}) {
      ByteArrayOutputStream errors = new ByteArrayOutputStream();
      int exit = BlockFetchBenchmark.run(args, System.out, new PrintStream(errors, true, StandardCharsets.UTF_8));
      String err = errors.toString(StandardCharsets.UTF_8);
      assertEquals(2, exit, String.join(" ", args));
      assertEquals(1, err.lines().count(), err);
      assertTrue(err.startsWith("error: "), err);
    }
  }
}
