package io.vrdma.bench;

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
 * The report runner end to end with the smallest budget: it measures nothing worth reading, it only shows
 * that the benchmarks run and the table comes out. No target is asserted here: targets are checked by
 * the report itself, never by timed unit tests.
 */
class TransportBenchmarkReportSmokeTest {
  @TempDir
  Path out;

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void tinyRunPrintsTcpAndBaselineRows() throws Exception {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    int exit = TransportBenchmarkReport.run(new String[] {"--forks", "0", "--warmup", "0", "--iterations", "1",
        "--time", "200ms", "--sizes", "64k", "--tiers", "tcp", "--out", out.toString()},
        new PrintStream(printed, true, StandardCharsets.UTF_8), new PrintStream(errors, true, StandardCharsets.UTF_8));
    assertEquals(0, exit, errors.toString(StandardCharsets.UTF_8));
    String md = Files.readString(out.resolve(TransportBenchmarkReport.REPORT_MD));
    String number = "[0-9]+\\.[0-9]+";
    assertTrue(Pattern.compile("\\| 64 KiB \\| tcp \\| " + number + " \\| " + number + " \\| " + number
        + " \\| loopback socket \\| " + number + " \\| " + number + " \\|").matcher(md).find(), md);
    assertTrue(Pattern.compile("\\| 64 KiB \\| memcpy \\(baseline\\) \\| " + number).matcher(md).find(), md);
    assertTrue(Pattern.compile("\\| 64 KiB \\| loopback socket \\(baseline\\) \\| " + number).matcher(md).find(), md);
    assertTrue(printed.toString(StandardCharsets.UTF_8).contains("| block size | tier | GB/s |"));
    assertTrue(Files.readString(out.resolve(TransportBenchmarkReport.REPORT_CSV)).startsWith("block_bytes,tier,"));
  }

  @Test
  void badFlagIsOneLineAndExitTwo() {
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    int exit = TransportBenchmarkReport.run(new String[] {"--bogus", "1"}, System.out,
        new PrintStream(errors, true, StandardCharsets.UTF_8));
    assertEquals(2, exit);
    String err = errors.toString(StandardCharsets.UTF_8);
    assertEquals(1, err.lines().count(), err);
    assertTrue(err.startsWith("error: unknown flag --bogus"), err);
    assertEquals(2, TransportBenchmarkReport.run(new String[] {"--sizes", "32m"}, System.out,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
  }
}
