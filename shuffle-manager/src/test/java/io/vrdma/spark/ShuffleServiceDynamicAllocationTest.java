package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.Metric;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.network.TransportContext;
import org.apache.spark.network.server.TransportServer;
import org.apache.spark.network.shuffle.ExternalBlockHandler;
import org.apache.spark.network.util.MapConfigProvider;
import org.apache.spark.network.util.TransportConf;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import scala.Tuple2;

/**
 * Spark's external shuffle service with dynamic allocation: executors that ran the maps go idle and are removed, and
 * a later job reads their map outputs (kept on disk, served by the shuffle service) without running the maps again.
 * As Spark's own {@code ExternalShuffleServiceSuite} does, the shuffle service runs in the test JVM (the workers of
 * {@code local-cluster} never start theirs), and the executors register their outputs with it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShuffleServiceDynamicAllocationTest {
  private Path arena;
  private ExternalBlockHandler shuffleService;
  private TransportContext transport;
  private TransportServer server;
  private JavaSparkContext sc;
  private final Set<String> added = ConcurrentHashMap.newKeySet();
  private final Set<String> removed = ConcurrentHashMap.newKeySet();
  private final AtomicInteger mapTasks = new AtomicInteger();

  @BeforeAll
  void start() throws Exception {
    TransportConf conf = new TransportConf("shuffle", new MapConfigProvider(Map.of()));
    shuffleService = new ExternalBlockHandler(conf, null);
    transport = new TransportContext(conf, shuffleService);
    server = transport.createServer();
    arena = LocalCluster.arenaPath();
    SparkConf spark = LocalCluster.conf(getClass().getSimpleName(), arena)
        .set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.shuffle.service.enabled", "true")
        .set("spark.shuffle.service.port", Integer.toString(server.getPort()))
        .set("spark.dynamicAllocation.enabled", "true")
        .set("spark.dynamicAllocation.shuffleTracking.enabled", "false")
        .set("spark.dynamicAllocation.minExecutors", "0")
        .set("spark.dynamicAllocation.initialExecutors", "2")
        .set("spark.dynamicAllocation.maxExecutors", "2")
        .set("spark.dynamicAllocation.executorIdleTimeout", "5s");
    sc = LocalCluster.start(spark);
    sc.sc().addSparkListener(new SparkListener() {
      @Override
      public void onExecutorAdded(SparkListenerExecutorAdded event) {
        added.add(event.executorId());
      }

      @Override
      public void onExecutorRemoved(SparkListenerExecutorRemoved event) {
        removed.add(event.executorId());
      }

      @Override
      public void onTaskEnd(SparkListenerTaskEnd event) {
        if (event.taskType().equals("ShuffleMapTask")) {
          mapTasks.incrementAndGet();
        }
      }
    });
  }

  @AfterAll
  void stop() throws Exception {
    if (sc != null) {
      sc.stop();
    }
    if (server != null) {
      server.close();
    }
    if (transport != null) {
      transport.close();
    }
    if (shuffleService != null) {
      shuffleService.close();
    }
    Files.deleteIfExists(arena);
  }

  private static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
      Thread.sleep(200);
    }
  }

  private long shuffleServiceBytes() {
    Metric bytes = shuffleService.getAllMetrics().getMetrics().get("blockTransferRateBytes");
    return ((Meter) bytes).getCount();
  }

  private int shuffleServiceExecutors() {
    return ((Number) ((Gauge<?>) shuffleService.getAllMetrics().getMetrics().get("registeredExecutorsSize"))
        .getValue()).intValue();
  }

  @Test
  void outputsOfRemovedExecutorsAreReadThroughTheShuffleServiceExactly() throws Exception {
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    // the driver and both executors (their block servers start with their first map task)
    await("both executors are up", Duration.ofSeconds(60),
        () -> sc.sc().statusTracker().getExecutorInfos().length == 3);
    // each registers with the shuffle service after the driver knows its block manager
    await("both executors registered with the shuffle service", Duration.ofSeconds(30),
        () -> shuffleServiceExecutors() == 2);
    int n = 30_000;
    Map<Integer, Long> expected = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      expected.merge(i % 89, (long) i, Long::sum);
    }
    JavaPairRDD<Integer, Long> sums = sc.parallelize(IntStream.range(0, n).boxed().collect(Collectors.toList()), 6)
        .mapToPair(i -> new Tuple2<>(i % 89, (long) i)).reduceByKey(Long::sum, 5);

    driver.resetCounters();
    assertEquals(expected, new TreeMap<>(sums.collectAsMap()));
    assertTrue(driver.total("bytes.shm") > 0, "no bytes over shm while the executors lived: " + driver.totals());
    assertEquals(0, driver.total("sparkFallbackBlocks"), driver.totals().toString());
    assertEquals(0, shuffleServiceBytes(), "the shuffle service served blocks while their executors lived");
    sc.sc().listenerBus().waitUntilEmpty(10_000);
    int maps = mapTasks.get();
    assertEquals(6, maps);

    Set<String> mappers = new HashSet<>(driver.executors().keySet());
    await("the idle executors " + mappers + " are removed (removed so far: " + removed + ")", Duration.ofSeconds(90),
        () -> removed.containsAll(mappers));

    driver.resetCounters();
    long started = System.nanoTime();
    assertEquals(expected, new TreeMap<>(sums.collectAsMap()));
    long millis = Duration.ofNanos(System.nanoTime() - started).toMillis();
    sc.sc().listenerBus().waitUntilEmpty(10_000);
    assertEquals(maps, mapTasks.get(), "the maps ran again: their outputs were not read from the shuffle service");
    Set<String> readers = new HashSet<>(added);
    readers.removeAll(mappers);
    assertTrue(!readers.isEmpty(), "no new executor ran the second job");
    assertTrue(shuffleServiceBytes() > 0, "the shuffle service served no bytes for the removed executors' outputs");
    assertTrue(driver.total("sparkFallbackBlocks") > 0, "the new executors read no block through Spark's client: "
        + driver.totals());
    System.out.printf("second job over the shuffle service: %d ms, %d bytes served by it, counters %s%n", millis,
        shuffleServiceBytes(), driver.totals());
  }
}
