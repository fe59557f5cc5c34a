package io.vrdma.bench.hadoop;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vrdma.bench.cli.BadFlag;
import io.vrdma.bench.cli.Cli;
import io.vrdma.bench.cli.Flags;
import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockSegment;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What a reduce task pays, in a JVM of its own, before and while its shuffle reads its first host's map outputs:
 * ours (start the client-only transport node and block client, fetch the maps' index records, then their
 * partitions) against what Hadoop's fetcher does for the same bytes (one HTTP GET, the URL's HMAC in a header as
 * {@code SecureShuffleUtils} computes it, each map output's partition streamed after a small header). Each round
 * starts a fresh JVM per path with this JVM's class path, as YARN starts a reduce task; the serving side (our
 * block server, and a JDK HTTP server standing in for the NodeManager's {@code ShuffleHandler}) stays up in this
 * JVM and is warm, as a NodeManager's is. The cold-start cost of TeraSort over the tiers (docs/performance.md) is
 * what this isolates.
 *
 * <p>The child prints {@code key=value} lines: milliseconds from its {@code main} to the client's start, to the
 * first byte of map output data, to the last, and the classes loaded by then; the JVM's own start (to {@code main})
 * is printed too, and is the same for both paths.
 */
public final class ReducerStartBenchmark {
  static final String USAGE = String.join("\n",
      "usage: ReducerStartBenchmark [--rounds N] [--maps N] [--block-bytes N] [--task-start-ms N] [--warm-up-agent JAR]",
      "                             [--jvm-options OPTS] [--out DIR]",
      "A fresh reducer JVM fetching one host's map outputs: our client (start, index records, partitions) vs",
      "Hadoop's HTTP fetch of the same bytes. Rounds alternate the two paths after one untimed round of each.",
      "  --rounds       timed rounds per path (default 7)",
      "  --maps         map outputs on the host (default 16)",
      "  --block-bytes  bytes of each map's partition (default 1700000: TeraSort 16 x 4 of 1 M rows)",
      "  --task-start-ms  milliseconds each reducer JVM works on its main thread before its shuffle starts, as a",
      "                 YARN task JVM does before its shuffle plugin runs (default 0)",
      "  --warm-up-agent  the plugin jar: our reducers run with -javaagent:JAR (ReducerWarmUp), HTTP's without",
      "  --jvm-options  options for the reducer JVMs, space separated (default none), e.g. '-Xlog:class+load'",
      "  --out          directory for reducer-start.md (default target/reducer-start)");
  /** Target of issue 17 (as proposed there): our plugin's start to the first byte of map output data. */
  static final double TARGET_FIRST_BYTE_MS = 300;
  static final String NAMESPACE = "job_0000000000000_0001";
  static final byte[] SECRET = "reducer-start-benchmark-secret".getBytes(StandardCharsets.UTF_8);
  /** Bytes of one Hadoop index record (start offset, raw length, part length). */
  static final int INDEX_RECORD_BYTES = 24;

  record Options(int rounds, int maps, int blockBytes, long taskStartMs, Path warmUpAgent, List<String> jvmOptions,
      Path out) {}

  private ReducerStartBenchmark() {}

  static Options parse(String[] args) {
    int rounds = 7;
    int maps = 16;
    int blockBytes = 1_700_000;
    long taskStartMs = 0;
    Path warmUpAgent = null;
    List<String> jvmOptions = List.of();
    Path out = Path.of("target", "reducer-start");
    Flags f = new Flags(args);
    while (f.next()) {
      switch (f.flag()) {
        case "--rounds" -> rounds = f.positiveInt();
        case "--maps" -> maps = f.positiveInt();
        case "--block-bytes" -> blockBytes = f.positiveInt();
        case "--task-start-ms" -> taskStartMs = f.longAtLeast(0);
        case "--warm-up-agent" -> warmUpAgent = f.path();
        case "--jvm-options" -> jvmOptions = List.of(f.value().trim().split("\\s+"));
        case "--out" -> out = f.path();
        default -> throw f.unknown();
      }
    }
    return f.helpRequested() ? null : new Options(rounds, maps, blockBytes, taskStartMs, warmUpAgent, jvmOptions, out);
  }

  public static void main(String[] args) {
    Cli.main(args, USAGE, ReducerStartBenchmark::parse, o -> {
      run(o);
      return Cli.OK;
    });
  }

  /** The host's map outputs: one file, the index records first, then each map's partition. */
  record Layout(Path file, int maps, int blockBytes) {
    long indexOffset(int map) {
      return (long) map * INDEX_RECORD_BYTES;
    }

    long dataOffset(int map) {
      return (long) maps * INDEX_RECORD_BYTES + (long) map * blockBytes;
    }
  }

  static void run(Options o) throws Exception {
    Files.createDirectories(o.out());
    Path work = Files.createTempDirectory(o.out().toAbsolutePath(), "work");
    Layout layout = write(work.resolve("map-outputs"), o.maps(), o.blockBytes());
    Path arena = Path.of("/dev/shm", "vrdma-reducer-start-" + ProcessHandle.current().pid());
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put(TransportConf.HOST.name(), "127.0.0.1");
    settings.put(TransportConf.SHM_ARENA_PATH.name(), arena.toString());
    settings.put(TransportConf.SHM_ARENA_BYTES.name(), "256m");
    HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    http.createContext("/mapOutput", exchange -> serveHttp(exchange, layout));
    http.start();
    try (TransportNode node = TransportNode.start(TransportConf.fromMap(settings));
        BlockServer server = new BlockServer(node, BlockConf.defaults(), true)) {
      server.createNamespace(NAMESPACE, SECRET);
      List<BlockSegment> blocks = new ArrayList<>();
      for (int m = 0; m < o.maps(); m++) {
        blocks.add(new BlockSegment(ReducerStartChild.indexId(m), layout.indexOffset(m), INDEX_RECORD_BYTES));
        blocks.add(new BlockSegment(ReducerStartChild.dataId(m), layout.dataOffset(m), o.blockBytes()));
      }
      server.publish(NAMESPACE, layout.file(), blocks);
      String ours = "vrdma 127.0.0.1 " + node.advertisement().port() + " " + o.maps() + " " + o.blockBytes() + " "
          + arena;
      String stock = "http 127.0.0.1 " + http.getAddress().getPort() + " " + o.maps() + " " + o.blockBytes();
      Map<String, List<Map<String, Double>>> results = new LinkedHashMap<>();
      results.put("vrdma", new ArrayList<>());
      results.put("http", new ArrayList<>());
      for (int round = 0; round <= o.rounds(); round++) {
        for (String path : List.of(ours, stock)) {
          List<String> jvm = new ArrayList<>(o.jvmOptions());
          jvm.add("-D" + ReducerStartChild.TASK_START_MS + "=" + o.taskStartMs());
          if (o.warmUpAgent() != null && path == ours) {
            jvm.add("-javaagent:" + o.warmUpAgent().toAbsolutePath());
          }
          Map<String, Double> r = child(jvm, path.split(" "), work);
          System.out.printf(Locale.ROOT, "%s round %d: %s%n", path.split(" ")[0], round, r);
          if (round > 0) { // round 0 warms the serving side
            results.get(path.split(" ")[0]).add(r);
          }
        }
      }
      String report = report(o, results);
      Files.writeString(o.out().resolve("reducer-start.md"), report);
      System.out.print(report);
    } finally {
      http.stop(0);
      Files.deleteIfExists(arena);
      Files.deleteIfExists(layout.file());
      Files.deleteIfExists(work);
    }
  }

  static Layout write(Path file, int maps, int blockBytes) throws IOException {
    Layout layout = new Layout(file, maps, blockBytes);
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer index = ByteBuffer.allocate(maps * INDEX_RECORD_BYTES);
      for (int m = 0; m < maps; m++) {
        index.putLong(layout.dataOffset(m)).putLong(blockBytes).putLong(blockBytes);
      }
      out.write(index.flip());
      byte[] block = new byte[blockBytes];
      SplittableRandom random = new SplittableRandom(17);
      for (int m = 0; m < maps; m++) {
        random.nextBytes(block);
        out.write(ByteBuffer.wrap(block));
      }
    }
    return layout;
  }

  /**
   * Hadoop's fetch as the NodeManager answers it: the URL's HMAC checked, then for each map of the request a small
   * header and its partition.
   */
  private static void serveHttp(HttpExchange exchange, Layout layout) throws IOException {
    try (exchange) {
      String url = exchange.getRequestURI().toString();
      String hash = exchange.getRequestHeaders().getFirst(ReducerStartChild.URL_HASH);
      if (hash == null || !hash.equals(ReducerStartChild.hmac(url))) {
        exchange.sendResponseHeaders(401, -1);
        return;
      }
      exchange.sendResponseHeaders(200, 0);
      try (OutputStream body = exchange.getResponseBody(); FileChannel in = FileChannel.open(layout.file())) {
        byte[] header = new byte[ReducerStartChild.SHUFFLE_HEADER_BYTES];
        for (int m = 0; m < layout.maps(); m++) {
          Arrays.fill(header, (byte) m);
          body.write(header);
          in.transferTo(layout.dataOffset(m), layout.blockBytes(), Channels.newChannel(body));
        }
      }
    }
  }

  /** Runs one child JVM and returns its {@code key=value} lines. */
  static Map<String, Double> child(List<String> jvmOptions, String[] args, Path work)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), ReducerStartChild.class.getName()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.PIPE).directory(work.toFile()).start();
    Map<String, Double> values = new TreeMap<>();
    StringBuilder output = new StringBuilder();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        output.append(line).append('\n');
        int eq = line.indexOf('=');
        if (line.startsWith(ReducerStartChild.RESULT) && eq > 0) {
          values.put(line.substring(ReducerStartChild.RESULT.length(), eq), Double.parseDouble(line.substring(eq + 1)));
        }
      }
    }
    if (p.waitFor() != 0 || !values.containsKey("last_byte_ms")) {
      throw new IOException(args[0] + " child failed (exit " + p.exitValue() + "):\n" + output);
    }
    return values;
  }

  static String report(Options o, Map<String, List<Map<String, Double>>> results) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "A fresh reducer JVM reading %d map outputs of %d B from one host (%.1f MB),"
        + " %d rounds per path after one untimed round each; the shuffle starts after %d ms of the task's own"
        + " start-up%s; milliseconds from the shuffle's start, median [min-max].%n%n", o.maps(), o.blockBytes(),
        (double) o.maps() * o.blockBytes() / 1e6, o.rounds(), o.taskStartMs(),
        o.warmUpAgent() == null ? "" : ", ours with the warm-up agent (" + o.warmUpAgent().getFileName() + ")"));
    b.append("| path | JVM start to main | client started | first byte | last byte | classes loaded |\n");
    b.append("|---|---:|---:|---:|---:|---:|\n");
    for (Map.Entry<String, List<Map<String, Double>>> e : results.entrySet()) {
      b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s |%n", e.getKey(),
          spread(e.getValue(), "jvm_to_main_ms"), spread(e.getValue(), "client_started_ms"),
          spread(e.getValue(), "first_byte_ms"), spread(e.getValue(), "last_byte_ms"),
          spread(e.getValue(), "classes_loaded")));
    }
    double ours = median(results.get("vrdma"), "first_byte_ms");
    double stock = median(results.get("http"), "first_byte_ms");
    double oursLast = median(results.get("vrdma"), "last_byte_ms");
    double stockLast = median(results.get("http"), "last_byte_ms");
    b.append(String.format(Locale.ROOT, "%nFirst byte: ours %.0f ms, HTTP %.0f ms (%.2f x); last byte %.0f vs %.0f ms"
        + " (%.2f x).%n", ours, stock, ours / stock, oursLast, stockLast, oursLast / stockLast));
    b.append(String.format(Locale.ROOT, "Target (issue 17, proposed): ours to the first byte <= %.0f ms: %s%n",
        TARGET_FIRST_BYTE_MS, ours <= TARGET_FIRST_BYTE_MS ? "met" : "MISSED"));
    return b.toString();
  }

  static String spread(List<Map<String, Double>> rounds, String key) {
    double[] v = rounds.stream().mapToDouble(r -> r.getOrDefault(key, Double.NaN)).sorted().toArray();
    return String.format(Locale.ROOT, "%.0f [%.0f-%.0f]", median(rounds, key), v[0], v[v.length - 1]);
  }

  static double median(List<Map<String, Double>> rounds, String key) {
    double[] v = rounds.stream().mapToDouble(r -> r.getOrDefault(key, Double.NaN)).sorted().toArray();
    if (v.length == 0) {
      throw new BadFlag("no rounds");
    }
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /** The HMAC-SHA1 of a URL, keyed with the benchmark's secret, base64 (Hadoop's {@code SecureShuffleUtils}). */
  static Mac mac() {
    try {
      Mac mac = Mac.getInstance("HmacSHA1");
      mac.init(new SecretKeySpec(SECRET, "HmacSHA1"));
      return mac;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String base64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }
}
