package io.vrdma.bench.spark;

import io.vrdma.bench.cli.BadFlag;
import io.vrdma.bench.cli.Cli;
import io.vrdma.bench.cli.Flags;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Fetch of N blocks of a given size from a peer process, per path: our block client over the shm tier and over
 * the tcp tier, and Spark's Netty block transfer (TransportServer serving FileSegmentManagedBuffers through a
 * OneForOneStreamManager, fetched with OneForOneBlockFetcher) over loopback, all serving the same data files.
 * Prints one markdown table with blocks/s, GB/s, the ratio to Spark and the targets, and writes it to
 * {@code <out>/block-fetch-benchmark.md}.
 *
 * <p>A measurement, not a gate: exit 0 whatever the numbers (a MISSED line names each missed target), 2 for bad
 * flags, 1 when a path cannot run.
 */
public final class BlockFetchBenchmark {
  static final String REPORT_MD = "block-fetch-benchmark.md";
  static final List<String> PATHS = List.of("spark-netty", "vrdma-shm", "vrdma-tcp", "spark-netty-crypto",
      "vrdma-tcp-enc");
  private static final int MAX_BLOCK_BYTES = 16 << 20;
  /** The shm arena holds every block of a run: at most 2 GiB - 1 with room for chunk rounding. */
  private static final long MAX_ARENA_BYTES = Integer.MAX_VALUE;
  private static final String[] JVM_OPENS = {"--add-opens=java.base/java.lang=ALL-UNNAMED",
      "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
      "-Dio.netty.tryReflectionSetAccessible=true"};

  private static final String USAGE = String.join("\n",
      "usage: java -jar vrdma-spark-fetch-bench.jar [flags]",
      "  --sizes LIST    block sizes, e.g. 4k,1m (default; at most 16m)",
      "  --blocks N      blocks fetched per round (default per size: 1 GiB worth, between 16 and 16384)",
      "  --rounds N      measured rounds per path (default 5)",
      "  --warmup N      warm-up rounds per path before those, not counted (default 3)",
      "  --paths LIST    of spark-netty,vrdma-shm,vrdma-tcp,spark-netty-crypto,vrdma-tcp-enc (default all);",
      "                  the last two encrypt: Spark's spark.network.crypto (AES) and our tcp tier with",
      "                  vrdma.transport.encryption.required (AES-GCM), each keyed by a shared secret",
      "  --out DIR       where " + REPORT_MD + " and the peers' logs go (default benchmark-results)",
      "  --help          this text",
      "Targets: 1 MiB blocks, vrdma-shm >= 1.5 x and vrdma-tcp >= 1.0 x Spark's GB/s,",
      "         vrdma-tcp-enc >= 1.0 x spark-netty-crypto's GB/s;",
      "         4 KiB blocks, vrdma-shm >= 2 x Spark's blocks/s.",
      "Exit 0 whatever the numbers (MISSED lines name missed targets), 2 for bad flags, 1 when a path fails.");

  private BlockFetchBenchmark() {}

  public static void main(String[] args) {
    // before any logger or Netty class loads: quiet INFO lines, and Netty as Spark's launcher runs it
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
        System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
    System.setProperty("io.netty.tryReflectionSetAccessible",
        System.getProperty("io.netty.tryReflectionSetAccessible", "true"));
    System.exit(run(args, System.out, System.err));
  }

  record Options(List<Integer> sizes, Integer blocks, int rounds, int warmup, List<String> paths, Path out) {}

  /** The measured rounds of one path at one size. */
  record Result(int blockBytes, String path, int blocks, long[] nanos) {
    double medianSeconds() {
      long[] s = nanos.clone();
      Arrays.sort(s);
      return (s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0) / 1e9;
    }

    double bestSeconds() {
      return Arrays.stream(nanos).min().getAsLong() / 1e9;
    }

    double blocksPerSecond() {
      return blocks / medianSeconds();
    }

    double gbPerSecond() {
      return (double) blocks * blockBytes / medianSeconds() / 1e9;
    }

    double bestGbPerSecond() {
      return (double) blocks * blockBytes / bestSeconds() / 1e9;
    }
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    return Cli.run(args, USAGE, out, err, BlockFetchBenchmark::parse, o -> report(o, out));
  }

  /** The options, or null when help was asked for. */
  static Options parse(String[] args) {
    List<Integer> sizes = List.of(4096, 1 << 20);
    Integer blocks = null;
    int rounds = 5;
    int warmup = 3;
    List<String> paths = PATHS;
    Path out = Path.of("benchmark-results");
    Flags f = new Flags(args);
    while (f.next()) {
      switch (f.flag()) {
        case "--sizes" -> sizes = f.sizes(MAX_BLOCK_BYTES);
        case "--blocks" -> blocks = f.positiveInt();
        case "--rounds" -> rounds = f.positiveInt();
        case "--warmup" -> warmup = f.intAtLeast(0);
        case "--paths" -> paths = f.names(PATHS);
        case "--out" -> out = f.path();
        default -> throw f.unknown();
      }
    }
    if (!f.helpRequested() && paths.contains("vrdma-shm")) {
      for (int size : sizes) {
        if (arenaBytes(BlockLayout.of(size, blocksFor(size, blocks))) > MAX_ARENA_BYTES) {
          throw new BadFlag(blocksFor(size, blocks) + " blocks of " + size(size)
              + " do not fit a shm arena (at most 2 GiB): fewer --blocks");
        }
      }
    }
    return f.helpRequested() ? null : new Options(sizes, blocks, rounds, warmup, paths, out);
  }

  static int blocksFor(int blockBytes, Integer blocks) {
    return blocks != null ? blocks : (int) Math.min(16384, Math.max(16, (1L << 30) / blockBytes));
  }

  /** Arena for the shm path: every block (files rounded to 64 KiB chunks) plus room for receive buffers. */
  static long arenaBytes(BlockLayout layout) {
    long files = (long) layout.files() * ((((long) layout.blocksPerFile() * layout.blockBytes()) + 0xFFFF) & ~0xFFFFL);
    return files + (64L << 20);
  }

  static int report(Options options, PrintStream out) throws Exception {
    Files.createDirectories(options.out());
    List<Result> results = new ArrayList<>();
    for (int size : options.sizes()) {
      BlockLayout layout = BlockLayout.of(size, blocksFor(size, options.blocks()));
      Path dir = Files.createTempDirectory("vrdma-fetch-bench-");
      try {
        layout.write(dir);
        for (String path : options.paths()) {
          out.printf(Locale.ROOT, "%s x %d, %s: %d + %d warm-up rounds ...%n", size(size), layout.blocks(), path,
              options.rounds(), options.warmup());
          results.add(measure(path, dir, layout, options));
        }
      } finally {
        deleteQuietly(dir);
      }
    }
    String table = table(results);
    out.println();
    out.print(table);
    Files.writeString(options.out().resolve(REPORT_MD), table, StandardCharsets.UTF_8);
    for (String line : table.split("\n")) {
      if (line.endsWith("| no |")) {
        out.println("MISSED: " + line);
      }
    }
    return 0;
  }

  private static Result measure(String path, Path dir, BlockLayout layout, Options options) throws Exception {
    String tier = path.equals("vrdma-shm") ? "shm" : path.equals("vrdma-tcp-enc") ? "tcp-enc" : "tcp";
    boolean spark = path.startsWith("spark-netty");
    Path arena = Path.of("/dev/shm").resolve("vrdma-fetch-bench-" + UUID.randomUUID());
    if (!Files.isDirectory(arena.getParent()) || !Files.isWritable(arena.getParent())) {
      arena = dir.resolve("arena");
    }
    long arenaBytes = arenaBytes(layout);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of(JVM_OPENS));
    command.addAll(List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
        System.getProperty("java.class.path"), FetchPeer.class.getName(), spark ? (path.equals("spark-netty-crypto") ? "spark-crypto" : "spark") : tier,
        dir.toString(), Integer.toString(layout.blockBytes()), Integer.toString(layout.blocks()), arena.toString(),
        Long.toString(arenaBytes)));
    Path log = options.out().resolve("peer-" + path + "-" + layout.blockBytes() + ".log");
    Process peer = new ProcessBuilder(command).redirectError(log.toFile()).start();
    try {
      BufferedReader stdout = new BufferedReader(new InputStreamReader(peer.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = stdout.readLine()) != null && !line.startsWith(FetchPeer.READY)) {
        // skip anything else the peer prints
      }
      if (line == null) {
        throw new IOException("the " + path + " peer exited before serving: " + tail(log));
      }
      int port = Integer.parseInt(line.substring(FetchPeer.READY.length()).trim());
      try (Fetchers.Fetcher fetcher = spark ? new Fetchers.Spark(port, layout, path.equals("spark-netty-crypto"))
          : new Fetchers.Vrdma(tier, arena.toString(), arenaBytes, port, layout)) {
        for (int w = 0; w < options.warmup(); w++) {
          fetcher.fetchAll();
        }
        long[] nanos = new long[options.rounds()];
        for (int r = 0; r < nanos.length; r++) {
          nanos[r] = fetcher.fetchAll();
        }
        return new Result(layout.blockBytes(), path, layout.blocks(), nanos);
      }
    } finally {
      peer.getOutputStream().close();
      if (!peer.waitFor(15, TimeUnit.SECONDS)) {
        peer.destroyForcibly();
        peer.waitFor(5, TimeUnit.SECONDS);
      }
      Files.deleteIfExists(arena);
    }
  }

  private static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log);
    return lines.isEmpty() ? "(its log " + log + " is empty)"
        : String.join(" / ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
  }

  static String table(List<Result> results) {
    StringBuilder t = new StringBuilder();
    t.append("| block size | blocks | path | blocks/s | GB/s | ratio vs Spark | target | met? |\n");
    t.append("|---|---:|---|---:|---:|---:|---|---|\n");
    for (Result r : results) {
      // encrypted paths are compared with Spark's encrypted transfer, the others with its plain one
      String baseline = r.path().equals("vrdma-tcp-enc") ? "spark-netty-crypto" : "spark-netty";
      Result spark = results.stream().filter(s -> s.blockBytes() == r.blockBytes() && s.path().equals(baseline))
          .findFirst().orElse(null);
      double ratio = spark == null ? Double.NaN : r.gbPerSecond() / spark.gbPerSecond();
      Double target = target(r);
      String ratioText = spark == null ? "n/a" : String.format(Locale.ROOT, "%.2f", ratio);
      String targetText = r.path().equals("spark-netty") ? "(baseline)"
          : r.path().equals("spark-netty-crypto") ? "(baseline of vrdma-tcp-enc)" : target == null ? "-"
          : String.format(Locale.ROOT, ">= %.1f x %s", target, r.blockBytes() == 4096 ? "blocks/s" : "GB/s");
      String met = target == null ? "-" : spark == null ? "n/a" : ratio >= target ? "yes" : "no";
      t.append(String.format(Locale.ROOT, "| %s | %d | %s | %.0f | %.3f | %s | %s | %s |%n", size(r.blockBytes()),
          r.blocks(), r.path(), r.blocksPerSecond(), r.gbPerSecond(), ratioText, targetText, met));
    }
    t.append("\nMedian of the measured rounds (best round's GB/s: ");
    t.append(String.join(", ", results.stream().map(r -> String.format(Locale.ROOT, "%s %s %.3f", size(r.blockBytes()),
        r.path(), r.bestGbPerSecond())).toList()));
    t.append("). GB = 10^9 bytes. Ratio = this path's rate / spark-netty's at the same size (vrdma-tcp-enc's:"
        + " / spark-netty-crypto's, Spark's own encrypted transfer).\n");
    return t.toString();
  }

  /** The target ratio for a row, or null where it sets none. */
  private static Double target(Result r) {
    if (r.path().equals("vrdma-shm") && r.blockBytes() == 1 << 20) {
      return 1.5;
    }
    if ((r.path().equals("vrdma-tcp") || r.path().equals("vrdma-tcp-enc")) && r.blockBytes() == 1 << 20) {
      return 1.0;
    }
    if (r.path().equals("vrdma-shm") && r.blockBytes() == 4096) {
      return 2.0;
    }
    return null;
  }

  static String size(long bytes) {
    return bytes % (1 << 20) == 0 ? bytes / (1 << 20) + " MiB" : bytes % 1024 == 0 ? bytes / 1024 + " KiB"
        : bytes + " B";
  }

  private static void deleteQuietly(Path path) {
    try (Stream<Path> all = Files.walk(path)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("cannot delete " + path + ": " + e);
    }
  }
}
