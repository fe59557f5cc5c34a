package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.apache.spark.ShuffleDependency;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.scheduler.ExecutorDecommissionInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.cluster.CoarseGrainedSchedulerBackend;
import org.apache.spark.storage.BlockManagerId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import scala.Option;
import scala.Tuple2;
import scala.collection.immutable.Nil$;
import scala.reflect.ClassTag$;

/**
 * Decommissioning with shuffle block migration: the map outputs of a decommissioned executor move to the other
 * executors (Spark's {@code BlockManagerDecommissioner}), whose block servers publish them on arrival, so that the
 * reduce stage reads them over our tiers. Three executors: every map runs on one of them (executor-local preferred
 * locations), which is then decommissioned; its outputs land on the two others, and reducers on each read what landed
 * on the other one remotely.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DecommissionShuffleTest {
  private static final int MAPS = 6;
  private Path arena;
  private JavaSparkContext sc;
  private final Set<String> removed = ConcurrentHashMap.newKeySet();
  private final Map<Long, String> mapTaskExecutors = new ConcurrentHashMap<>();

  @BeforeAll
  void start() {
    arena = LocalCluster.arenaPath();
    SparkConf conf = LocalCluster.conf(getClass().getSimpleName(), arena)
        .setMaster("local-cluster[3,1,1024]")
        .set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.decommission.enabled", "true")
        .set("spark.storage.decommission.enabled", "true")
        .set("spark.storage.decommission.shuffleBlocks.enabled", "true")
        .set("spark.storage.decommission.rddBlocks.enabled", "false")
        // the decommissioned executor exits once a migration pass finds nothing left: look again every second
        .set("spark.storage.decommission.replicationReattemptInterval", "1s")
        // the maps wait for the executor they prefer; the reducers prefer none, so both survivors run some
        .set("spark.locality.wait", "60s")
        .set("spark.shuffle.reduceLocality.enabled", "false");
    sc = LocalCluster.start(conf);
    sc.sc().addSparkListener(new SparkListener() {
      @Override
      public void onExecutorRemoved(SparkListenerExecutorRemoved event) {
        removed.add(event.executorId());
      }

      @Override
      public void onTaskEnd(SparkListenerTaskEnd event) {
        if (event.taskType().equals("ShuffleMapTask")) {
          mapTaskExecutors.put(event.taskInfo().taskId(), event.taskInfo().executorId());
        }
      }
    });
  }

  @AfterAll
  void stop() throws Exception {
    if (sc != null) {
      sc.stop();
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

  /** Executors' block managers (not the driver's): id to host. */
  private Map<String, String> executorHosts() {
    Map<String, String> hosts = new TreeMap<>();
    scala.collection.Iterator<BlockManagerId> ids = sc.sc().env().blockManager().master().getMemoryStatus().keySet()
        .iterator();
    while (ids.hasNext()) {
      BlockManagerId id = ids.next();
      if (!id.isDriver()) {
        hosts.put(id.executorId(), id.host());
      }
    }
    return hosts;
  }

  /**
   * Partitions {@code 0..n-1}, each preferring {@code location} (Spark's {@code executor_<host>_<id>}: that executor).
   * A Scala list built with {@code ::}, raw: Spark 3.5 (Scala 2.12) and Spark 4 (2.13) type the argument of
   * {@code makeRDD} with different {@code Seq}s, and this source is compiled against both.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static RDD<Integer> placedOn(SparkContext sc, int n, String location) {
    scala.collection.immutable.List partitions = Nil$.MODULE$;
    for (int p = n - 1; p >= 0; p--) {
      partitions = partitions.$colon$colon(new Tuple2<>(p, Nil$.MODULE$.$colon$colon(location)));
    }
    return sc.makeRDD(partitions, ClassTag$.MODULE$.apply(Integer.class));
  }

  @Test
  void migratedMapOutputsAreReadOverOurTiersExactly() throws Exception {
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    assertNotNull(driver, "no vRDMA driver endpoint: the shuffle manager did not start");
    await("three executors are up", Duration.ofSeconds(90), () -> executorHosts().size() == 3);
    String mapper = new TreeMap<>(executorHosts()).firstKey();
    String mapperHost = executorHosts().get(mapper);
    RDD<Integer> seeds = placedOn(sc.sc(), MAPS, "executor_" + mapperHost + "_" + mapper);
    int perMap = 20_000;
    Map<Integer, Long> expected = new TreeMap<>();
    for (int p = 0; p < MAPS; p++) {
      for (int i = 0; i < perMap; i++) {
        long value = (long) p * perMap + i;
        expected.merge((int) (value % 997), value, Long::sum);
      }
    }
    JavaPairRDD<Integer, Long> sums = JavaRDD.fromRDD(seeds, ClassTag$.MODULE$.<Integer>apply(Integer.class))
        .flatMapToPair(p -> {
          List<Tuple2<Integer, Long>> records = new ArrayList<>(perMap);
          for (int i = 0; i < perMap; i++) {
            long value = (long) p * perMap + i;
            records.add(new Tuple2<>((int) (value % 997), value));
          }
          return records.iterator();
        }).reduceByKey(Long::sum, 12);

    // the map stage alone: no reducer has fetched map statuses that name the mapper
    ShuffleDependency<?, ?, ?> dependency = (ShuffleDependency<?, ?, ?>) sums.rdd().dependencies().head();
    sc.sc().submitMapStage(dependency).get();
    sc.sc().listenerBus().waitUntilEmpty(10_000);
    assertEquals(MAPS, mapTaskExecutors.size(), mapTaskExecutors.toString());
    assertEquals(Set.of(mapper), Set.copyOf(mapTaskExecutors.values()), "maps ran elsewhere than on " + mapper);
    driver.resetCounters();

    CoarseGrainedSchedulerBackend backend = (CoarseGrainedSchedulerBackend) sc.sc().schedulerBackend();
    assertTrue(backend.decommissionExecutor(mapper, new ExecutorDecommissionInfo("DecommissionShuffleTest",
        Option.empty()), true, false), "Spark did not decommission executor " + mapper);
    // the executor exits once its outputs are migrated; the receivers publish each as it arrives
    await("executor " + mapper + " migrated its outputs and exited", Duration.ofSeconds(120),
        () -> removed.contains(mapper));
    await("the receivers published the " + MAPS + " migrated outputs", Duration.ofSeconds(30),
        () -> driver.total("migratedMaps") == MAPS);
    System.out.printf("migrated outputs published: %s%n", driver.servedNamespaces());

    driver.resetCounters();
    long started = System.nanoTime();
    assertEquals(expected, new TreeMap<>(sums.collectAsMap()));
    long millis = Duration.ofNanos(System.nanoTime() - started).toMillis();
    sc.sc().listenerBus().waitUntilEmpty(10_000);
    Map<String, Long> totals = driver.totals();
    System.out.printf("reduce stage over migrated outputs: %d ms, counters %s%n", millis, totals);
    assertEquals(MAPS, mapTaskExecutors.size(), "the maps ran again: their migrated outputs were not used");
    // every block is a migrated one (all maps ran on the decommissioned executor): a reducer reads those that landed
    // on its own executor through Spark's local path, and those on the other survivor over our tiers
    assertTrue(totals.getOrDefault("bytes.shm", 0L) + totals.getOrDefault("bytes.tcp", 0L) > 0,
        "no migrated block was read over shm or tcp: " + totals);
    assertTrue(totals.getOrDefault("blocks.shm", 0L) > 0, "no migrated block was read over shm: " + totals);
    assertEquals(0L, totals.getOrDefault("sparkFallbackBlocks", 0L),
        "migrated blocks went through Spark's client: " + totals);
  }
}
