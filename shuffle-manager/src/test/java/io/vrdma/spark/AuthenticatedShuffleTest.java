package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.block.BlockConf;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.SparkConf;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.BlockManagerId;
import org.junit.jupiter.api.Test;
import scala.Tuple2;
import scala.Tuple3;
import scala.collection.Iterator;
import scala.collection.Seq;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * spark.authenticate on, with io encryption, zstd and forced spills: jobs still read every remote block over
 * shm (the executors prove Spark's application secret to each other's block servers), and a client holding a
 * wrong secret, or none, gets no block from an executor's block server while the right secret does.
 */
class AuthenticatedShuffleTest extends ClusterTest {
  private static final String SECRET = "vrdma-test-application-secret";


  @Override
  protected SparkConf configure(SparkConf conf) {
    return conf
        .set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.authenticate", "true")
        .set("spark.authenticate.secret", SECRET)
        .set("spark.io.encryption.enabled", "true")
        .set("spark.io.compression.codec", "zstd")
        .set("spark.shuffle.spill.numElementsForceSpillThreshold", "500");
  }

  private JavaPairRDD<Integer, Long> job(int n) {
    List<Integer> numbers = IntStream.range(0, n).boxed().collect(Collectors.toList());
    return sc.parallelize(numbers, 6).mapToPair(i -> new Tuple2<>(i % 211, (long) i)).reduceByKey(Long::sum, 5);
  }

  @Test
  void encryptedSpilledShuffleReadsOverShmWithTheSecret() throws Exception {
    VrdmaDriverEndpoint.current().resetCounters();
    int n = 20_000;
    Map<Integer, Long> expected = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      expected.merge(i % 211, (long) i, Long::sum);
    }
    AtomicLong spilled = new AtomicLong();
    SparkListener spills = new SparkListener() {
      @Override
      public void onTaskEnd(SparkListenerTaskEnd end) {
        if (end.taskMetrics() != null) {
          spilled.addAndGet(end.taskMetrics().diskBytesSpilled());
        }
      }
    };
    sc.sc().addSparkListener(spills);
    try {
      assertEquals(expected, new TreeMap<>(job(n).collectAsMap()));
      sc.sc().listenerBus().waitUntilEmpty();
    } finally {
      sc.sc().removeSparkListener(spills);
    }
    assertTrue(spilled.get() > 0, "no task spilled: the forced-spill setting did not take");
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    assertTrue(driver.total("bytes.shm") > 0, "no bytes over shm");
    assertEquals(0, driver.total("sparkFallbackBlocks"));
  }

  @Test
  void aWrongSecretGetsNoBlock() throws Exception {
    JavaPairRDD<Integer, Long> rdd = job(5_000);
    rdd.count();
    int shuffleId = ((org.apache.spark.ShuffleDependency<?, ?, ?>) rdd.rdd().dependencies().head()).shuffleId();
    String blockId = null;
    String executor = null;
    Iterator<Tuple2<BlockManagerId, Seq<Tuple3<BlockId, Object, Object>>>> blocks = SparkEnv.get()
        .mapOutputTracker().getMapSizesByExecutorId(shuffleId, 0, Integer.MAX_VALUE, 0, 5);
    while (blocks.hasNext() && blockId == null) {
      Tuple2<BlockManagerId, Seq<Tuple3<BlockId, Object, Object>>> byExecutor = blocks.next();
      Iterator<Tuple3<BlockId, Object, Object>> it = byExecutor._2().iterator();
      while (it.hasNext()) {
        Tuple3<BlockId, Object, Object> block = it.next();
        if ((Long) block._2() > 0) {
          blockId = block._1().name();
          executor = byExecutor._1().executorId();
          break;
        }
      }
    }
    assertNotNull(blockId, "no non-empty block");
    String server = VrdmaDriverEndpoint.current().blockServer(executor);
    assertNotNull(server, "executor " + executor + " has no block server");
    String host = server.substring(0, server.lastIndexOf(':'));
    int port = Integer.parseInt(server.substring(server.lastIndexOf(':') + 1));
    String namespace = sc.sc().applicationId() + "/" + shuffleId;

    try (TransportNode node = TransportNode.start(TransportConf.fromMap(Map.of("vrdma.transport.tiers", "tcp")));
        BlockClient client = new BlockClient(node, BlockConf.fromMap(Map.of("vrdma.block.maxRetries", "1",
            "vrdma.block.retryWait", "10ms")))) {
      assertEquals("failed", fetch(client, host, port, namespace, "not-the-secret", blockId));
      assertEquals("failed", fetch(client, host, port, namespace, null, blockId));
      assertEquals("fetched", fetch(client, host, port, namespace, SECRET, blockId));
    }
  }

  private static String fetch(BlockClient client, String host, int port, String namespace, String secret,
      String blockId) throws Exception {
    CompletableFuture<String> outcome = new CompletableFuture<>();
    client.fetch(host, port, namespace, secret == null ? null : secret.getBytes(StandardCharsets.UTF_8),
        List.of(blockId), new BlockFetchListener() {
          @Override
          public void onBlockFetchSuccess(String id, FetchedBlock block) {
            block.release();
            outcome.complete("fetched");
          }

          @Override
          public void onBlockFetchFailure(String id, Throwable cause) {
            outcome.complete("failed");
          }
        });
    return outcome.get(60, TimeUnit.SECONDS);
  }
}
