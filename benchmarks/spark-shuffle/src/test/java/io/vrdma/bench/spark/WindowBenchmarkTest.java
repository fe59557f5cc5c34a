package io.vrdma.bench.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link WindowBenchmark}'s targets on fixed numbers (met and missed), its flags, and one tiny run of the
 * {@code window} config: a 20 MB shuffle through an 8 MiB arena must move every remote byte over shm.
 */
class WindowBenchmarkTest {
  private static final long GIB = 1L << 30;
  private static final long MIB = 1L << 20;

  /** A job of {@code gb} GB written, half of it read remotely, in {@code wall} seconds. */
  private static WindowBenchmark.Measure measure(double gb, double wall, double shmShare, long rssMib,
      long shmPeak) {
    long written = (long) (gb * 1e9);
    long remote = written / 2;
    long shm = (long) (remote * shmShare);
    ShuffleJobBenchmark.Round job = new ShuffleJobBenchmark.Round(wall, (long) (wall * 1.5e9), (long) (wall * 1e9),
        written, written, remote, 42, shm, remote - shm);
    return new WindowBenchmark.Measure(job, shm, remote - shm, 0, 3, rssMib * MIB, shmPeak, shmPeak + MIB, false);
  }

  /** Two rounds of one application with one shuffle each, the second as given. */
  private static List<List<WindowBenchmark.Measure>> twoRounds(WindowBenchmark.Measure first,
      WindowBenchmark.Measure second) {
    return List.of(List.of(first), List.of(second));
  }

  private static Map<String, List<List<WindowBenchmark.Measure>>> results(double windowShare, double windowWall,
      long windowRss, long windowShmPeak, double consecutiveShare) {
    Map<String, List<List<WindowBenchmark.Measure>>> r = new LinkedHashMap<>();
    r.put("fits", twoRounds(measure(1, 4.0, 1, 1090, 2 * GIB), measure(1, 4.2, 1, 1090, 2 * GIB)));
    r.put("window", twoRounds(measure(4, 16.0, 1, 1200, 128 * MIB),
        measure(4, windowWall, windowShare, windowRss, windowShmPeak)));
    r.put("stock-fits", twoRounds(measure(1, 4.5, 0, 1000, 0), measure(1, 4.5, 0, 1000, 0)));
    r.put("stock-window", twoRounds(measure(4, 18, 0, 1100, 0), measure(4, 18, 0, 1100, 0)));
    List<List<WindowBenchmark.Measure>> consecutive = new ArrayList<>();
    for (int round = 0; round < 2; round++) {
      List<WindowBenchmark.Measure> app = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        app.add(measure(1, 4.1, round == 1 && i == 3 ? consecutiveShare : 1, 1150, GIB));
      }
      consecutive.add(app);
    }
    r.put("consecutive", consecutive);
    return r;
  }

  private static WindowBenchmark.Options options(String... extra) {
    List<String> args = new ArrayList<>(List.of("--rounds", "2"));
    args.addAll(List.of(extra));
    return WindowBenchmark.parse(args.toArray(new String[0]));
  }

  @Test
  void everyTargetMetOnGoodNumbers() {
    // window s/GB: rounds 4.0 and 4.2, median 4.1, as fits'
    String md = WindowBenchmark.report(options(), results(1, 16.8, 1200, 128 * MIB, 1));
    assertFalse(md.contains("| no |"), md);
    assertTrue(md.contains("| window: shm share >= 99 % (every round) | 100.00 % | yes |"), md);
    assertTrue(md.contains("| window s/GB <= 1.05 x fits s/GB | 4.10 vs 4.10: 1.00 x | yes |"), md);
    assertTrue(md.contains("| window: /dev/shm peak <= arena | 128 MiB vs 128 MiB | yes |"), md);
    assertTrue(md.contains("| window: executor peak RSS <= 1.10 x stock-window | 1200 vs 1100 MiB: 1.09 x | yes |"),
        md);
    assertTrue(md.contains("| consecutive: every shuffle >= 99 % over shm | lowest 100.00 % | yes |"), md);
    // five consecutive rows, each with its arena and shm share
    for (int i = 1; i <= 5; i++) {
      assertTrue(md.contains("| consecutive #" + i + " | 1000000 x 16 | 1024 | "), md);
    }
  }

  @Test
  void eachTargetMissedOnBadNumbers() {
    String md = WindowBenchmark.report(options(),
        results(0.9, 24, 1400, 128 * MIB + 4096, 0.5));
    assertTrue(md.contains("| window: shm share >= 99 % (every round) | 90.00 % | no |"), md);
    assertTrue(md.contains("| window s/GB <= 1.05 x fits s/GB | 5.00 vs 4.10: 1.22 x | no |"), md);
    assertTrue(md.contains("| window: /dev/shm peak <= arena | 128 MiB vs 128 MiB | no |"), md);
    assertTrue(md.contains("| window: executor peak RSS <= 1.10 x stock-window | 1300 vs 1100 MiB: 1.18 x | no |"),
        md);
    assertTrue(md.contains("| consecutive: every shuffle >= 99 % over shm | lowest 50.00 % | no |"), md);
    // the others still met
    assertTrue(md.contains("| fits: executor peak RSS <= 1.10 x stock-fits | 1090 vs 1000 MiB: 1.09 x | yes |"),
        md);
  }

  @Test
  void targetsWithoutTheirConfigsAreNotApplicable() {
    Map<String, List<List<WindowBenchmark.Measure>>> r = new LinkedHashMap<>();
    r.put("window", twoRounds(measure(4, 16, 1, 1200, 128 * MIB), measure(4, 16, 1, 1200, 128 * MIB)));
    String md = WindowBenchmark.report(options("--configs", "window"), r);
    assertTrue(md.contains("| window s/GB <= 1.05 x fits s/GB | - | n/a |"), md);
    assertTrue(md.contains("| window: executor peak RSS <= 1.10 x stock-window | - | n/a |"), md);
    assertTrue(md.contains("| consecutive: every shuffle >= 99 % over shm | - | n/a |"), md);
    assertFalse(md.contains("| no |"), md);
  }

  @Test
  void badFlagsGiveOneLineAndExitTwo() {
    for (String[] args : new String[][] {{"--window-arena", "lots"}, {"--configs", "nope"}, {"--bogus", "1"},
        {"--rounds"}}) {
      ByteArrayOutputStream errors = new ByteArrayOutputStream();
      int exit = WindowBenchmark.run(args, new PrintStream(new ByteArrayOutputStream(), true,
          StandardCharsets.UTF_8), new PrintStream(errors, true, StandardCharsets.UTF_8));
      assertEquals(2, exit);
      String err = errors.toString(StandardCharsets.UTF_8).strip();
      assertTrue(err.startsWith("error: ") && !err.contains("\n"), err);
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void aShuffleLargerThanATinyArenaMovesEveryRemoteByteOverShm() throws Exception {
    long arena = 8 * MIB;
    WindowBenchmark.Options o = WindowBenchmark.parse(new String[] {"--configs", "window", "--window-records",
        "20000", "--window-partitions", "4", "--window-arena", "8m", "--rounds", "1", "--executor-mb", "1024"});
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    WindowBenchmark.Measure m = WindowBenchmark.measure(o, new PrintStream(log, true, StandardCharsets.UTF_8))
        .get("window").get(0).get(0);
    String why = log.toString(StandardCharsets.UTF_8);
    assertTrue(m.job().remoteRead() > arena, "remote bytes " + m.job().remoteRead() + " exceed the arena: " + why);
    assertEquals(m.job().remoteRead(), m.shmBytes(), why);
    assertEquals(0, m.tcpBytes(), why);
    assertEquals(0, m.fallbackBytes(), why);
    // the executors were found and measured
    assertTrue(m.peakRssBytes() > 0, why);
  }
}
