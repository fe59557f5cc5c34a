package io.vrdma.bench.spark;

import io.vrdma.bench.cli.Cli;
import io.vrdma.bench.cli.Flags;
import io.vrdma.spark.VrdmaDriverEndpoint;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.package$;

/**
 * Shuffles larger than the shm arena (issue 14): the arena is a bounded transfer window, so a shuffle of any size
 * should still move over shm, as fast per GB as one that fits, without more executor memory than stock and without
 * more {@code /dev/shm} than the arena. One run, configurations interleaved over rounds, each a fresh
 * {@code local-cluster[2,1,MB]} application running {@link ShuffleJobBenchmark}'s job (records generated in the map
 * tasks, never cached):
 *
 * <ul>
 *   <li>{@code fits}: vrdma-shm, the small shuffle (1 GB by default) with an arena larger than it (2 GiB);
 *   <li>{@code window}: vrdma-shm, the large shuffle (4 GB, 32 partitions, so each block is about 4 MB, as in
 *       {@code fits}) through a 128 MiB arena;
 *   <li>{@code stock-fits}, {@code stock-window}: Spark's own shuffle at the same two sizes (the executor memory
 *       baseline);
 *   <li>{@code consecutive}: vrdma-shm with the benchmarks' default arena (1 GiB), one application running five
 *       small shuffles one after the other (earlier shuffles stay registered), each measured on its own.
 * </ul>
 *
 * <p>Per job: wall clock, executor process CPU, Spark's remote bytes read (task metrics), the bytes our readers
 * moved over shm and tcp and the staging window's fallbacks and waits (the driver's counters, which executors
 * report after each reduce task), the executors' peak RSS ({@code VmHWM}), and the peak memory our
 * {@code /dev/shm} files hold (the arena and anything else there the driver or an executor maps) beside the file
 * system's peak use above its use before the arena was made. Prints a markdown table with the targets and writes it to
 * {@code <out>/window-benchmark.md}. Launch as {@link ShuffleJobBenchmark} ({@code java -cp <runtime class path>}):
 * {@code mvn -q -pl benchmarks/spark-shuffle exec:exec -Dbench.main=io.vrdma.bench.spark.WindowBenchmark
 * -Dbench.args="..."}, or {@code java @benchmarks/tpcds/target/tpcds.args --job window ...}. Exit 0 whatever the
 * numbers (a MISSED line per missed target), 2 for bad flags, 1 when a job fails or checksums differ.
 */
public final class WindowBenchmark {
  static final String REPORT_MD = "window-benchmark.md";
  static final List<String> CONFIGS = List.of("fits", "window", "stock-fits", "stock-window", "consecutive");
  private static final Path DEV_SHM = Path.of("/dev/shm");

  private static final String USAGE = String.join("\n",
      "usage: WindowBenchmark [flags]   (mvn -q -pl benchmarks/spark-shuffle exec:exec"
          + " -Dbench.main=io.vrdma.bench.spark.WindowBenchmark -Dbench.args=\"flags\",",
      "                                  or java @benchmarks/tpcds/target/tpcds.args --job window [flags])",
      "Shuffles larger than the shm arena: vrdma-shm with a window larger than the shuffle (fits) and much smaller",
      "(window), stock at both sizes, and consecutive shuffles in one application; interleaved over rounds.",
      "  --records N            records of fits, stock-fits and each consecutive shuffle (default 1000000)",
      "  --window-records N     records of window and stock-window (default 4000000)",
      "  --value-bytes N        bytes per value (default 1024)",
      "  --partitions N         map and reduce partitions of the small shuffles (default 16)",
      "  --window-partitions N  map and reduce partitions of the large shuffles (default 32)",
      "  --fits-arena SIZE      shm arena of fits (default 2g)",
      "  --window-arena SIZE    shm arena of window (default 128m)",
      "  --consecutive-arena SIZE  shm arena of consecutive (default " + SparkVariants.BENCH_ARENA_BYTES + ")",
      "  --consecutive N        shuffles in the consecutive application (default 5)",
      "  --rounds N             rounds, configs interleaved (default 3)",
      "  --configs LIST         of " + String.join(",", CONFIGS) + " (default all)",
      "  --executor-mb N        memory per executor of local-cluster[2,1,N] (default 3072)",
      "  --out DIR              where " + REPORT_MD + " goes (default benchmark-results)",
      "  --help                 this text",
      "Targets: window shm share >= 99 %; window s/GB <= 1.05 x fits s/GB; /dev/shm peak <= arena;",
      "         vrdma executor peak RSS <= 1.10 x stock's at the same size;",
      "         every consecutive shuffle >= 99 % over shm.",
      "Exit 0 whatever the numbers (MISSED lines name missed targets), 2 for bad flags, 1 when a job fails.");

  private WindowBenchmark() {}

  /**
   * Runs the benchmark and exits with its code.
   *
   * @param args the flags, as {@code --help} lists them
   */
  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  record Options(long records, long windowRecords, int valueBytes, int partitions, int windowPartitions,
      long fitsArena, long windowArena, long consecutiveArena, int consecutive, int rounds, List<String> configs,
      int executorMb, Path out) {}

  /** One configuration's application: its shuffle variant, job shape, arena (0: none) and shuffles per app. */
  record Config(String name, String variant, long records, int partitions, long arenaBytes, int shuffles) {}

  /**
   * One timed shuffle job and what was measured around it.
   *
   * @param job the job's wall clock, CPU, Spark's byte counts and checksum
   * @param shmBytes our readers' bytes over shm (driver counter {@code bytes.shm}; 0 for stock)
   * @param tcpBytes our readers' bytes over tcp ({@code bytes.tcp})
   * @param fallbackBytes bytes the staging window answered with their tcp place ({@code stage.windowFallbackBytes})
   * @param windowWaits requests that found the window full and waited ({@code stage.windowWaits})
   * @param peakRssBytes the larger of the two executors' {@code VmHWM} at the end of the job
   * @param shmPeakBytes peak during the job of the pages held by our {@code /dev/shm} files: the arena and any
   *     other file there that the driver or an executor maps (allocated bytes, as {@code du} counts them)
   * @param shmFsPeakBytes peak {@code /dev/shm} file system use during the job above its use before the arena was
   *     made: every process's files, so another process's files move it
   * @param shmForeign whether files other than our arena appeared in or vanished from {@code /dev/shm} during the
   *     application (another process's pages then moved {@code shmFsPeakBytes} up or down)
   */
  record Measure(ShuffleJobBenchmark.Round job, long shmBytes, long tcpBytes, long fallbackBytes, long windowWaits,
      long peakRssBytes, long shmPeakBytes, long shmFsPeakBytes, boolean shmForeign) {
    /** Bytes over shm per Spark remote byte read (1 when there were none to move). */
    double shmShare() {
      return job.remoteRead() == 0 ? 1 : (double) shmBytes / job.remoteRead();
    }

    /** Wall seconds per GB (10^9 B) of shuffle bytes written. */
    double secondsPerGb() {
      return job.wallSeconds() / Math.max(1e-9, job.shuffleWritten() / 1e9);
    }

    /** Executor process CPU seconds per GB of shuffle bytes written. */
    double cpuPerGb() {
      return (job.processCpuNanos() / 1e9) / Math.max(1e-9, job.shuffleWritten() / 1e9);
    }
  }

  /** The options, or null when help was asked for. */
  static Options parse(String[] args) {
    long records = 1_000_000;
    long windowRecords = 4_000_000;
    int valueBytes = 1024;
    int partitions = 16;
    int windowPartitions = 32;
    long fitsArena = 2L << 30;
    long windowArena = 128L << 20;
    long consecutiveArena = 1L << 30;
    int consecutive = 5;
    int rounds = 3;
    List<String> configs = CONFIGS;
    int executorMb = 3072;
    Path out = Path.of("benchmark-results");
    Flags f = new Flags(args);
    while (f.next()) {
      switch (f.flag()) {
        case "--records" -> records = f.positiveLong();
        case "--window-records" -> windowRecords = f.positiveLong();
        case "--value-bytes" -> valueBytes = f.positiveInt();
        case "--partitions" -> partitions = f.positiveInt();
        case "--window-partitions" -> windowPartitions = f.positiveInt();
        case "--fits-arena" -> fitsArena = f.size(1L << 40);
        case "--window-arena" -> windowArena = f.size(1L << 40);
        case "--consecutive-arena" -> consecutiveArena = f.size(1L << 40);
        case "--consecutive" -> consecutive = f.positiveInt();
        case "--rounds" -> rounds = f.positiveInt();
        case "--configs" -> configs = f.names(CONFIGS);
        case "--executor-mb" -> executorMb = f.positiveInt();
        case "--out" -> out = f.path();
        default -> throw f.unknown();
      }
    }
    return f.helpRequested() ? null : new Options(records, windowRecords, valueBytes, partitions, windowPartitions,
        fitsArena, windowArena, consecutiveArena, consecutive, rounds, configs, executorMb, out);
  }

  /** The selected configurations, in the order they run within a round. */
  static List<Config> configs(Options o) {
    List<Config> out = new ArrayList<>();
    for (String name : o.configs()) {
      out.add(switch (name) {
        case "fits" -> new Config(name, "vrdma-shm", o.records(), o.partitions(), o.fitsArena(), 1);
        case "window" -> new Config(name, "vrdma-shm", o.windowRecords(), o.windowPartitions(), o.windowArena(), 1);
        case "stock-fits" -> new Config(name, "stock", o.records(), o.partitions(), 0, 1);
        case "stock-window" -> new Config(name, "stock", o.windowRecords(), o.windowPartitions(), 0, 1);
        case "consecutive" -> new Config(name, "vrdma-shm", o.records(), o.partitions(), o.consecutiveArena(),
            o.consecutive());
        default -> throw new IllegalArgumentException(name);
      });
    }
    return out;
  }

  /**
   * Runs the benchmark; returns the exit code (also for {@code TpcdsBenchmark --job window}).
   *
   * @param args the flags
   * @param stdout where the table goes
   * @param stderr where per-job lines and errors go
   * @return 0, 1 or 2 as the class comment says
   */
  public static int run(String[] args, PrintStream stdout, PrintStream stderr) {
    return Cli.run(args, USAGE, stdout, stderr, WindowBenchmark::parse, o -> benchmark(o, stdout, stderr));
  }

  private static int benchmark(Options o, PrintStream stdout, PrintStream stderr) throws Exception {
    Map<String, List<List<Measure>>> results = measure(o, stderr);
    // the checksum is a sum over records, so it depends on the records and value size only, not on partitions
    Map<Long, Long> checksums = new LinkedHashMap<>();
    for (Config c : configs(o)) {
      for (List<Measure> app : results.get(c.name())) {
        for (Measure m : app) {
          Long expected = checksums.putIfAbsent(c.records(), m.job().checksum());
          if (expected != null && expected != m.job().checksum()) {
            stderr.printf(Locale.ROOT, "error: checksum of %s %016x differs from %016x%n", c.name(),
                m.job().checksum(), expected);
            return 1;
          }
        }
      }
    }
    String md = report(o, results);
    stdout.print(md);
    Files.createDirectories(o.out());
    Files.writeString(o.out().resolve(REPORT_MD), md, StandardCharsets.UTF_8);
    for (String line : md.split("\n")) {
      if (line.startsWith("| ") && line.endsWith("| no |")) {
        stdout.println("MISSED: " + line);
      }
    }
    return 0;
  }

  /** Per config, per round, the measures of the application's shuffles (one, or {@code --consecutive}). */
  static Map<String, List<List<Measure>>> measure(Options o, PrintStream stderr) throws Exception {
    SparkVariants.prepareSparkHome();
    List<Config> configs = configs(o);
    Map<String, List<List<Measure>>> results = new LinkedHashMap<>();
    configs.forEach(c -> results.put(c.name(), new ArrayList<>()));
    for (int r = 0; r < o.rounds(); r++) {
      for (Config c : configs) {
        List<Measure> app = runApplication(o, c, stderr);
        results.get(c.name()).add(app);
        for (int i = 0; i < app.size(); i++) {
          Measure m = app.get(i);
          stderr.printf(Locale.ROOT, "round %d %s%s: %.2f s (%.2f s/GB), executor CPU %.2f s/GB, remote %d B,"
              + " shm %d B, tcp %d B (share %.2f %%), window fallback %d B, waits %d, peak RSS %d MiB,"
              + " /dev/shm peak %d MiB (file system %d MiB%s), checksum %016x%n", r + 1, c.name(),
              app.size() > 1 ? " #" + (i + 1) : "", m.job().wallSeconds(), m.secondsPerGb(), m.cpuPerGb(),
              m.job().remoteRead(), m.shmBytes(), m.tcpBytes(), 100 * m.shmShare(), m.fallbackBytes(),
              m.windowWaits(), m.peakRssBytes() >> 20, m.shmPeakBytes() >> 20, m.shmFsPeakBytes() >> 20,
              m.shmForeign() ? "; other processes' files came or went" : "", m.job().checksum());
        }
      }
    }
    return results;
  }

  /**
   * One application of {@code c}: the arena made and backed first (a host's arena outlives its applications, so
   * no timed job pays the first touch of its pages; made afresh per application so that the {@code /dev/shm}
   * baseline before it is this run's), the context started and warmed, then each shuffle timed with the driver's
   * counters reset before it and {@code /dev/shm} sampled during it.
   */
  private static List<Measure> runApplication(Options o, Config c, PrintStream stderr) throws Exception {
    Path arena = DEV_SHM.resolve("vrdma-window-bench-" + UUID.randomUUID());
    awaitExecutorsGone(60, stderr);
    Set<String> before = shmFiles();
    long baseline = shmUsedBytes();
    List<Measure> out = new ArrayList<>();
    try {
      String arenaText = Flags.sizeText(c.arenaBytes() == 0 ? 1L << 20 : c.arenaBytes());
      if (c.arenaBytes() > 0) {
        ShuffleJobBenchmark.prepareArena(arena, arenaText, stderr);
      }
      SparkVariants.MetricsListener listener = new SparkVariants.MetricsListener();
      JavaSparkContext sc = ShuffleJobBenchmark.startWarm(
          ShuffleJobBenchmark.conf("WindowBenchmark-" + c.name(), c.partitions(), o.executorMb(), c.variant(),
              arena, arenaText), listener, c.records(), o.valueBytes(), c.partitions());
      try {
        for (int i = 0; i < c.shuffles(); i++) {
          VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
          if (driver != null) {
            driver.resetCounters();
          }
          ShuffleJobBenchmark.Round job;
          long shmPeak;
          long shmFsPeak;
          try (ShmSampler sampler = new ShmSampler(arena)) {
            job = ShuffleJobBenchmark.timedJob(sc, listener, c.records(), o.valueBytes(), c.partitions());
            sampler.sample();
            shmPeak = sampler.oursPeak.get();
            shmFsPeak = sampler.fsPeak.get();
          }
          // another process's file that came or went during the job moves the file system's use by its pages
          Set<String> now = shmFiles();
          Set<String> foreign = new HashSet<>(now);
          foreign.removeAll(before);
          Set<String> gone = new HashSet<>(before);
          gone.removeAll(now);
          foreign.addAll(gone);
          foreign.remove(arena.getFileName().toString());
          boolean ours = SparkVariants.isOurs(c.variant()) && driver != null;
          out.add(new Measure(job, ours ? driver.total("bytes.shm") : 0, ours ? driver.total("bytes.tcp") : 0,
              ours ? driver.total("stage.windowFallbackBytes") : 0, ours ? driver.total("stage.windowWaits") : 0,
              executorPeakRssBytes(), shmPeak, Math.max(0, shmFsPeak - baseline), !foreign.isEmpty()));
        }
      } finally {
        sc.stop();
      }
    } finally {
      Files.deleteIfExists(arena);
    }
    return out;
  }

  /**
   * Waits until the previous application's executor JVMs have exited ({@code sc.stop()} does not wait for them):
   * until then they map its deleted arena, whose pages tmpfs frees only with the last mapping, so they would be in
   * this application's {@code /dev/shm} baseline and leave during its job; and their CPU time and RSS would be
   * counted with this application's executors.
   */
  static void awaitExecutorsGone(long timeoutSeconds, PrintStream stderr) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
    while (executorJvms().findAny().isPresent()) {
      if (System.nanoTime() > deadline) {
        stderr.printf(Locale.ROOT, "warning: the previous executors still run after %d s; this application's"
            + " /dev/shm baseline, CPU and RSS may include them%n", timeoutSeconds);
        return;
      }
      Thread.sleep(100);
    }
  }

  /** The executor JVMs: this JVM's descendants whose command is {@code .../java} (local-cluster starts them). */
  private static Stream<ProcessHandle> executorJvms() {
    return ProcessHandle.current().descendants()
        .filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false));
  }

  /** Bytes in use on the {@code /dev/shm} file system (every process's files: the sampler's baseline is taken). */
  static long shmUsedBytes() throws IOException {
    FileStore fs = Files.getFileStore(DEV_SHM);
    return fs.getTotalSpace() - fs.getUsableSpace();
  }

  private static Set<String> shmFiles() throws IOException {
    try (Stream<Path> files = Files.list(DEV_SHM)) {
      Set<String> names = new HashSet<>();
      files.forEach(p -> names.add(p.getFileName().toString()));
      return names;
    }
  }

  /**
   * The larger of the executor JVMs' peak resident set ({@code VmHWM}, which counts the arena pages they touched);
   * the executors found as for {@link ShuffleJobBenchmark#executorProcessCpuNanos()}.
   */
  static long executorPeakRssBytes() {
    return executorJvms().mapToLong(p -> statusKb(p.pid(), "VmHWM") << 10).max().orElse(0);
  }

  /** A {@code kB} field of {@code /proc/<pid>/status}, 0 when it cannot be read (the process ended). */
  private static long statusKb(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
        }
      }
    } catch (IOException | NumberFormatException e) {
      // a process that ended between listing and reading has no peak to report
    }
    return 0;
  }

  /**
   * The {@code /dev/shm} files this application holds: the arena, and any file there that this JVM or an executor
   * maps (from {@code /proc/<pid>/maps}; a deleted one is skipped, its name may be reused).
   */
  static Set<Path> ourShmFiles(Path arena) {
    Set<Path> out = new HashSet<>();
    if (Files.exists(arena)) {
      out.add(arena);
    }
    Stream.concat(Stream.of(ProcessHandle.current()), executorJvms()).forEach(p -> {
      try (Stream<String> lines = Files.lines(Path.of("/proc", Long.toString(p.pid()), "maps"))) {
        lines.map(l -> l.indexOf(" /dev/shm/") < 0 ? null : l.substring(l.indexOf(" /dev/shm/") + 1))
            .filter(f -> f != null && !f.endsWith(" (deleted)"))
            .forEach(f -> out.add(Path.of(f)));
      } catch (IOException | java.io.UncheckedIOException e) {
        // a process that ended maps nothing any more
      }
    });
    return out;
  }

  /**
   * Bytes of memory the files hold (their allocated blocks, as {@code du} counts them: tmpfs allocates a page when
   * it is first written, so a sparse file counts only what was touched); 0 when {@code du} cannot tell.
   */
  static long allocatedBytes(Set<Path> files) {
    if (files.isEmpty()) {
      return 0;
    }
    List<String> command = new ArrayList<>(List.of("du", "-B1", "-c", "--"));
    files.forEach(f -> command.add(f.toString()));
    try {
      Process du = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out = new String(du.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      du.waitFor();
      String[] lines = out.strip().split("\\R");
      return Long.parseLong(lines[lines.length - 1].split("\\s+")[0]);
    } catch (IOException | NumberFormatException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  /**
   * Samples every 100 ms on a daemon thread until closed, keeping two peaks: the pages our {@code /dev/shm} files
   * hold ({@link #ourShmFiles}, looked up every 500 ms) and the file system's use. The first is the figure: the
   * second also moves with other processes' files on a shared host.
   */
  static final class ShmSampler implements AutoCloseable {
    final AtomicLong oursPeak = new AtomicLong();
    final AtomicLong fsPeak = new AtomicLong();
    private final Path arena;
    private final Thread thread;
    private volatile Set<Path> ours;
    private volatile boolean running = true;

    ShmSampler(Path arena) {
      this.arena = arena;
      this.ours = ourShmFiles(arena);
      sample();
      thread = new Thread(() -> {
        for (int tick = 1; running; tick++) {
          try {
            Thread.sleep(100);
          } catch (InterruptedException e) {
            return;
          }
          if (tick % 5 == 0) {
            ours = ourShmFiles(arena);
          }
          sample();
        }
      }, "shm-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    /** Takes one sample now (also at the end, so that a job shorter than 100 ms is seen). */
    void sample() {
      try {
        fsPeak.accumulateAndGet(shmUsedBytes(), Math::max);
      } catch (IOException e) {
        // /dev/shm unreadable: the peak stays what was seen
      }
      oursPeak.accumulateAndGet(allocatedBytes(ours), Math::max);
    }

    @Override
    public void close() {
      running = false;
      thread.interrupt();
      try {
        thread.join();
      } catch (InterruptedException e) {
        // the sampler ends by itself once interrupted; keep this thread's interrupt for its caller
        Thread.currentThread().interrupt();
      }
    }
  }

  static double median(double[] xs) {
    return ShuffleJobBenchmark.median(xs);
  }

  /** Median over rounds of {@code f} of shuffle {@code index} of each round's application. */
  private static double median(List<List<Measure>> rounds, int index, java.util.function.ToDoubleFunction<Measure> f) {
    return median(rounds.stream().mapToDouble(app -> f.applyAsDouble(app.get(index))).toArray());
  }

  /** The lowest shm share over rounds of shuffle {@code index}: a target on every shuffle is a target on the worst. */
  private static double minShare(List<List<Measure>> rounds, int index) {
    return rounds.stream().mapToDouble(app -> app.get(index).shmShare()).min().orElse(Double.NaN);
  }

  private static double maxShmPeak(List<List<Measure>> rounds) {
    return rounds.stream().flatMap(List::stream).mapToDouble(Measure::shmPeakBytes).max().orElse(Double.NaN);
  }

  /** The table (one row per config, per shuffle for consecutive) and the targets, as markdown. */
  static String report(Options o, Map<String, List<List<Measure>>> results) {
    Map<String, Config> byName = new LinkedHashMap<>();
    configs(o).forEach(c -> byName.put(c.name(), c));
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "Spark %s (Scala %s), local-cluster[2,1,%d], %d round(s), configs"
        + " interleaved; %d B values; medians over rounds (shm share: the lowest round; /dev/shm peak: the highest)"
        + "%n%n", package$.MODULE$.SPARK_VERSION(), SparkVariants.scalaBinaryVersion(), o.executorMb(), o.rounds(),
        o.valueBytes()));
    md.append("| config | records x partitions | arena MiB | shuffled GB | wall s | s/GB | executor CPU s/GB"
        + " | remote GB | shm GB | tcp GB | shm share | window fallback MB | window waits | peak executor RSS MiB"
        + " | /dev/shm peak MiB | /dev/shm fs peak MiB |\n");
    md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    boolean foreign = false;
    for (Map.Entry<String, List<List<Measure>>> e : results.entrySet()) {
      Config c = byName.get(e.getKey());
      List<List<Measure>> rounds = e.getValue();
      for (int i = 0; i < c.shuffles(); i++) {
        int k = i;
        boolean ours = SparkVariants.isOurs(c.variant());
        foreign |= rounds.stream().anyMatch(app -> app.get(k).shmForeign());
        md.append(String.format(Locale.ROOT,
            "| %s | %d x %d | %s | %.3f | %.2f | %.2f | %.2f | %.3f | %s | %s | %s | %s | %s | %d | %d | %d |%n",
            c.shuffles() > 1 ? c.name() + " #" + (i + 1) : c.name(), c.records(), c.partitions(),
            ours ? Long.toString(c.arenaBytes() >> 20) : "-",
            median(rounds, i, m -> m.job().shuffleWritten() / 1e9), median(rounds, i, m -> m.job().wallSeconds()),
            median(rounds, i, Measure::secondsPerGb), median(rounds, i, Measure::cpuPerGb),
            median(rounds, i, m -> m.job().remoteRead() / 1e9),
            ours ? fmt3(median(rounds, i, m -> m.shmBytes() / 1e9)) : "-",
            ours ? fmt3(median(rounds, i, m -> m.tcpBytes() / 1e9)) : "-",
            ours ? String.format(Locale.ROOT, "%.2f %%", 100 * minShare(rounds, i)) : "-",
            ours ? fmt3(median(rounds, i, m -> m.fallbackBytes() / 1e6)) : "-",
            ours ? String.format(Locale.ROOT, "%.0f", median(rounds, i, m -> m.windowWaits())) : "-",
            (long) median(rounds, i, m -> m.peakRssBytes() >> 20),
            (long) rounds.stream().mapToDouble(app -> app.get(k).shmPeakBytes()).max().orElse(0) >> 20,
            (long) rounds.stream().mapToDouble(app -> app.get(k).shmFsPeakBytes()).max().orElse(0) >> 20));
      }
    }
    md.append("\n| target | measured | met? |\n|---|---|---|\n");
    List<List<Measure>> fits = results.get("fits");
    List<List<Measure>> window = results.get("window");
    if (window != null) {
      double share = minShare(window, 0);
      md.append(String.format(Locale.ROOT, "| window: shm share >= 99 %% (every round) | %.2f %% | %s |%n",
          100 * share, yesNo(share >= 0.99)));
    } else {
      md.append("| window: shm share >= 99 % (every round) | - | n/a |\n");
    }
    if (window != null && fits != null) {
      double w = median(window, 0, Measure::secondsPerGb);
      double f = median(fits, 0, Measure::secondsPerGb);
      md.append(String.format(Locale.ROOT, "| window s/GB <= 1.05 x fits s/GB | %.2f vs %.2f: %.2f x | %s |%n", w,
          f, w / f, yesNo(w <= 1.05 * f)));
    } else {
      md.append("| window s/GB <= 1.05 x fits s/GB | - | n/a |\n");
    }
    for (String name : List.of("fits", "window", "consecutive")) {
      List<List<Measure>> rounds = results.get(name);
      if (rounds != null) {
        double peak = maxShmPeak(rounds);
        long arena = byName.get(name).arenaBytes();
        md.append(String.format(Locale.ROOT, "| %s: /dev/shm peak <= arena | %.0f MiB vs %d MiB | %s |%n", name,
            peak / (1 << 20), arena >> 20, yesNo(peak <= arena)));
      }
    }
    for (String[] pair : new String[][] {{"fits", "stock-fits"}, {"window", "stock-window"}}) {
      List<List<Measure>> ours = results.get(pair[0]);
      List<List<Measure>> stock = results.get(pair[1]);
      if (ours != null && stock != null) {
        double a = median(ours, 0, m -> m.peakRssBytes());
        double b = median(stock, 0, m -> m.peakRssBytes());
        md.append(String.format(Locale.ROOT, "| %s: executor peak RSS <= 1.10 x %s | %d vs %d MiB: %.2f x | %s |%n",
            pair[0], pair[1], (long) a >> 20, (long) b >> 20, a / b, yesNo(a <= 1.10 * b)));
      } else {
        md.append(String.format(Locale.ROOT, "| %s: executor peak RSS <= 1.10 x %s | - | n/a |%n", pair[0],
            pair[1]));
      }
    }
    List<List<Measure>> consecutive = results.get("consecutive");
    if (consecutive != null) {
      double worst = Double.POSITIVE_INFINITY;
      for (int i = 0; i < byName.get("consecutive").shuffles(); i++) {
        worst = Math.min(worst, minShare(consecutive, i));
      }
      md.append(String.format(Locale.ROOT, "| consecutive: every shuffle >= 99 %% over shm | lowest %.2f %% | %s |%n",
          100 * worst, yesNo(worst >= 0.99)));
    } else {
      md.append("| consecutive: every shuffle >= 99 % over shm | - | n/a |\n");
    }
    md.append(String.format(Locale.ROOT, "%nGB = 10^9 B, MiB = 2^20 B. s/GB and CPU s/GB: per GB of shuffle bytes"
        + " written; executor CPU: the two executor JVMs' process CPU time (every thread). remote GB: Spark's remote"
        + " bytes read (task metrics); shm/tcp GB: what our readers moved per tier (driver counters bytes.shm,"
        + " bytes.tcp, reset before each job); shm share = shm / remote. Window fallback and waits: the staging"
        + " window's stage.windowFallbackBytes and stage.windowWaits. Peak executor RSS: the larger of the two"
        + " executors' VmHWM at the end of the job (it counts the arena pages an executor touched; for"
        + " consecutive, since the application started). /dev/shm peak (the target's figure): the highest, sampled"
        + " every 100 ms during the job, of the memory held by our /dev/shm files: the arena (made and backed before"
        + " the application; the file is the whole arena, header and tables included) and any other file there that"
        + " the driver or an executor maps, as du counts it. /dev/shm fs peak: the file system's use over the same"
        + " samples above its use before the arena was made, every process's files.%s%n",
        foreign ? " Other processes' files came or went in /dev/shm during at least one application, so that"
            + " column moved with their pages too." : ""));
    return md.toString();
  }

  private static String fmt3(double x) {
    return String.format(Locale.ROOT, "%.3f", x);
  }

  private static String yesNo(boolean met) {
    return met ? "yes" : "no";
  }
}
