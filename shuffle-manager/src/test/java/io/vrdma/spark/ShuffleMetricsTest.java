package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/**
 * What an operator sees in Spark's metrics system: the driver's per-tier totals through the Prometheus servlet of
 * the driver's UI (fed by the executors' one-way periodic reports), and each executor's own source through a sink
 * in the executor JVMs (Spark serves executors' sources from no driver endpoint: the driver's
 * {@code /metrics/executors/prometheus} lists only Spark's executor summaries).
 */
class ShuffleMetricsTest extends ClusterTest {
  private static final Pattern DRIVER_SHM_BYTES = Pattern.compile(
      "^metrics_.+_driver_" + DriverShuffleSource.NAME + "_bytes_shm_Value\\{type=\"gauges\"\\} (\\d+)$",
      Pattern.MULTILINE);
  private Path csvDir;

  @Override
  protected SparkConf configure(SparkConf conf) {
    try {
      csvDir = Files.createTempDirectory("vrdma-metrics-csv");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return conf.set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.shuffle.vrdma.reportInterval", "500ms")
        .set("spark.ui.enabled", "true")
        .set("spark.ui.port", "0")
        .set("spark.ui.prometheus.enabled", "true")
        .set("spark.metrics.conf.*.sink.prometheusServlet.class", "org.apache.spark.metrics.sink.PrometheusServlet")
        .set("spark.metrics.conf.*.sink.prometheusServlet.path", "/metrics/prometheus")
        .set("spark.metrics.conf.executor.sink.csv.class", "org.apache.spark.metrics.sink.CsvSink")
        .set("spark.metrics.conf.executor.sink.csv.period", "1")
        .set("spark.metrics.conf.executor.sink.csv.unit", "seconds")
        .set("spark.metrics.conf.executor.sink.csv.directory", csvDir.toString());
  }

  private long shuffle() {
    int n = 40_000;
    Map<Integer, Long> expected = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      expected.merge(i % 101, (long) i, Long::sum);
    }
    Map<Integer, Long> actual = new TreeMap<>(sc.parallelize(IntStream.range(0, n).boxed().collect(Collectors.toList()),
        6).mapToPair(i -> new Tuple2<>(i % 101, (long) i)).reduceByKey(Long::sum, 5).collectAsMap());
    assertEquals(expected, actual);
    return n;
  }

  private static String get(String url) throws IOException, InterruptedException {
    HttpResponse<String> response = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build().send(HttpRequest.newBuilder(URI.create(url))
        .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), () -> url + ": " + response.body());
    return response.body();
  }

  private static OptionalLong driverShmBytes(String prometheusText) {
    Matcher m = DRIVER_SHM_BYTES.matcher(prometheusText);
    return m.find() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
  }

  @Test
  void prometheusServletOfTheDriverShowsTheShmBytesThatExecutorsReported() throws Exception {
    shuffle();
    String url = sc.sc().uiWebUrl().get() + "/metrics/prometheus";
    // no exact query of the executors before this: only their one-way periodic reports can have brought the bytes
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    String text = get(url);
    while (driverShmBytes(text).orElse(0) == 0 && System.nanoTime() < deadline) {
      Thread.sleep(250);
      text = get(url);
    }
    String body = text;
    OptionalLong shown = driverShmBytes(body);
    assertTrue(shown.isPresent(), () -> "no " + DriverShuffleSource.NAME + " bytes.shm gauge in " + url + ":\n"
        + body.lines().filter(l -> l.contains("vrdma")).collect(Collectors.joining("\n")));
    assertTrue(shown.getAsLong() > 0, "the driver's Prometheus servlet shows no shm bytes");
    long exact = VrdmaDriverEndpoint.current().reportedTotal("bytes.shm");
    assertTrue(shown.getAsLong() <= exact, shown + " shown, executors have read " + exact);
    assertTrue(body.contains(DriverShuffleSource.NAME + "_executors_Value{type=\"gauges\"} 2"),
        "the executors gauge does not count both block servers");
  }

  @Test
  void everyExecutorPublishesItsOwnSourceThroughItsSinks() throws Exception {
    shuffle();
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    // exact now (the executors are asked), and it stays so: nothing reads after the job
    long exact = driver.total("bytes.shm");
    // the executors' CSV sink writes each metric to <app id>.<executor id>.vrdmaShuffle.<metric>.csv every second
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    Map<String, Long> shmBytesByExecutor = lastValues("bytes.shm.csv");
    while (sum(shmBytesByExecutor) != exact && System.nanoTime() < deadline) {
      Thread.sleep(250);
      shmBytesByExecutor = lastValues("bytes.shm.csv");
    }
    assertEquals(2, shmBytesByExecutor.size(), () -> "csv files: " + list(csvDir));
    assertTrue(exact > 0, "no bytes over shm");
    assertEquals(exact, sum(shmBytesByExecutor),
        "the executors' sinks show other shm bytes than the driver's exact query: " + shmBytesByExecutor);
    // each block that came over shm was timed: the per-tier latency timers count as many blocks as the gauges.
    // The sink writes a report's gauges before its timers, one file each, so right after the bytes settled the
    // timers' files may still hold the report before: wait for the writer to finish the report
    Map<String, Long> timedShmBlocks = lastValues("readLatency.shm.csv");
    Map<String, Long> shmBlocks = lastValues("blocks.shm.csv");
    while (sum(timedShmBlocks) != sum(shmBlocks) && System.nanoTime() < deadline) {
      Thread.sleep(250);
      timedShmBlocks = lastValues("readLatency.shm.csv");
      shmBlocks = lastValues("blocks.shm.csv");
    }
    assertEquals(sum(shmBlocks), sum(timedShmBlocks), "timed " + timedShmBlocks + ", counted " + shmBlocks);
    assertTrue(timedShmBlocks.values().stream().anyMatch(c -> c > 0), "no shm read was timed");
  }

  private static long sum(Map<String, Long> values) {
    return values.values().stream().mapToLong(Long::longValue).sum();
  }

  /**
   * Per executor's file named {@code *.vrdmaShuffle.<suffix>}, the first number of its last line (a gauge's value,
   * a timer's count).
   */
  private Map<String, Long> lastValues(String suffix) throws IOException {
    Map<String, Long> out = new TreeMap<>();
    try (Stream<Path> files = Files.list(csvDir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith("." + ExecutorShuffleSource.NAME + "."
          + suffix)).toList()) {
        List<String> lines = Files.readAllLines(f);
        if (lines.size() > 1) {
          String[] last = lines.get(lines.size() - 1).split(",");
          out.put(f.getFileName().toString(), (long) Double.parseDouble(last[1]));
        }
      }
    }
    return out;
  }

  private static List<String> list(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.contains("vrdma")).sorted().toList();
    } catch (IOException e) {
      return List.of(e.toString());
    }
  }
}
