package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockConf;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.CapturingRelay;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.BlockManagerId;
import org.junit.jupiter.api.Test;
import scala.Tuple2;
import scala.Tuple3;
import scala.collection.Iterator;
import scala.collection.Seq;

/**
 * spark.authenticate with Spark's wire encryption — spark.network.crypto.enabled (AES) on Spark 3.5,
 * spark.ssl.rpc.enabled (TLS, with a keystore the test makes with the JDK's keytool) on Spark 4 — and nothing set
 * for the plugin: every executor requires encryption. Jobs are exact and still read over shm; an executor's block server
 * serves tcp reads only as AES-GCM records (a wiretap between a client and the server finds none of the blocks'
 * bytes), and refuses a client that does not encrypt.
 */
class EncryptedShuffleTest extends ClusterTest {
  private static final String SECRET = "vrdma-test-encryption-secret";

  /** The Spark setting that asks for encryption on this line: Spark 4 runs TLS on its RPC, Spark 3.5 its AES. */
  private static final String ASKED_BY = SparkShims.SPARK_4 ? "spark.ssl.rpc.enabled" : "spark.network.crypto.enabled";

  @Override
  protected SparkConf configure(SparkConf conf) {
    conf.set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.authenticate", "true")
        .set("spark.authenticate.secret", SECRET);
    if (!SparkShims.SPARK_4) {
      return conf.set("spark.network.crypto.enabled", "true");
    }
    Path stores = TestKeyStores.create();
    return conf.set("spark.ssl.rpc.enabled", "true")
        .set("spark.ssl.rpc.keyStore", stores.resolve(TestKeyStores.KEYSTORE).toString())
        .set("spark.ssl.rpc.keyStorePassword", TestKeyStores.PASSWORD)
        .set("spark.ssl.rpc.keyPassword", TestKeyStores.PASSWORD)
        .set("spark.ssl.rpc.keyStoreType", "PKCS12")
        .set("spark.ssl.rpc.trustStore", stores.resolve(TestKeyStores.TRUSTSTORE).toString())
        .set("spark.ssl.rpc.trustStorePassword", TestKeyStores.PASSWORD)
        .set("spark.ssl.rpc.trustStoreType", "PKCS12");
  }

  private JavaPairRDD<Integer, String> job(int n) {
    List<Integer> numbers = IntStream.range(0, n).boxed().collect(Collectors.toList());
    // values long enough that a block holds many 64-byte runs of plaintext
    return sc.parallelize(numbers, 6).mapToPair(i -> new Tuple2<>(i % 97, "value-" + i + "-payload-" + (i * 31)))
        .reduceByKey((a, b) -> a.compareTo(b) < 0 ? a : b, 4);
  }

  @Test
  void encryptedShuffleIsExactAndStillReadsOverShm() {
    VrdmaDriverEndpoint.current().resetCounters();
    int n = 20_000;
    Map<Integer, String> expected = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      String v = "value-" + i + "-payload-" + (i * 31);
      expected.merge(i % 97, v, (a, b) -> a.compareTo(b) < 0 ? a : b);
    }
    assertEquals(expected, new TreeMap<>(job(n).collectAsMap()));
    VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
    assertTrue(driver.total("bytes.shm") > 0, "no bytes over shm");
    assertEquals(0, driver.total("sparkFallbackBlocks"));
    List<String> lines = LocalCluster.executorLogLines(sc.sc().applicationId(), "encryption required: shm on").stream()
        .filter(l -> l.contains("vRDMA shuffle on executor")).collect(Collectors.toList());
    assertEquals(2, lines.size(), "each executor logs its encryption line once: " + lines);
    for (String line : lines) {
      assertTrue(line.contains("verbs off") && line.contains("tcp on, encrypted")
          && line.contains("required by " + ASKED_BY), line);
    }
  }

  @Test
  void executorsBlockServerSendsNoBlockPlaintextOverTcpAndRefusesPlaintextClients() throws Exception {
    JavaPairRDD<Integer, String> rdd = job(5_000);
    rdd.count();
    int shuffleId = ((org.apache.spark.ShuffleDependency<?, ?, ?>) rdd.rdd().dependencies().head()).shuffleId();
    List<String> blockIds = new ArrayList<>();
    String executor = null;
    Iterator<Tuple2<BlockManagerId, Seq<Tuple3<BlockId, Object, Object>>>> blocks = SparkEnv.get()
        .mapOutputTracker().getMapSizesByExecutorId(shuffleId, 0, Integer.MAX_VALUE, 0, 4);
    while (blocks.hasNext() && executor == null) {
      Tuple2<BlockManagerId, Seq<Tuple3<BlockId, Object, Object>>> byExecutor = blocks.next();
      Iterator<Tuple3<BlockId, Object, Object>> it = byExecutor._2().iterator();
      while (it.hasNext()) {
        Tuple3<BlockId, Object, Object> block = it.next();
        if ((Long) block._2() > 0) {
          blockIds.add(block._1().name());
        }
      }
      if (!blockIds.isEmpty()) {
        executor = byExecutor._1().executorId();
      }
    }
    assertNotNull(executor, "no non-empty block");
    String server = VrdmaDriverEndpoint.current().blockServer(executor);
    assertNotNull(server, "executor " + executor + " has no block server");
    String host = server.substring(0, server.lastIndexOf(':'));
    int port = Integer.parseInt(server.substring(server.lastIndexOf(':') + 1));
    String namespace = sc.sc().applicationId() + "/" + shuffleId;
    byte[] secret = SECRET.getBytes(StandardCharsets.UTF_8);
    Map<String, String> retryOnce = Map.of("vrdma.block.maxRetries", "1", "vrdma.block.retryWait", "10ms");

    try (CapturingRelay relay = new CapturingRelay(host, port);
        TransportNode node = TransportNode.start(TransportConf.fromMap(Map.of("vrdma.transport.tiers", "tcp",
            TransportConf.ENCRYPTION_REQUIRED.name(), "true")));
        BlockClient client = new BlockClient(node, BlockConf.fromMap(retryOnce))) {
      List<ByteBuffer> fetched = fetchAll(client, "127.0.0.1", relay.port(), namespace, secret, blockIds);
      assertEquals(blockIds.size(), fetched.size());
      byte[] wire = relay.captured();
      for (ByteBuffer block : fetched) {
        byte[] bytes = new byte[block.remaining()];
        block.get(bytes);
        assertEquals(-1, CapturingRelay.findAnyWindow(bytes, wire, 64), "block plaintext on the wire");
      }
      assertTrue(fetched.stream().mapToInt(ByteBuffer::capacity).sum() >= 64, "blocks too small to prove anything");
    }
    try (TransportNode node = TransportNode.start(TransportConf.fromMap(Map.of("vrdma.transport.tiers", "tcp")));
        BlockClient client = new BlockClient(node, BlockConf.fromMap(retryOnce))) {
      // the right secret, but no encryption: the executor refuses it
      assertTrue(fetchAll(client, host, port, namespace, secret, blockIds).isEmpty());
    }
  }

  /** The blocks fetched (copies), leaving out those that failed. */
  private static List<ByteBuffer> fetchAll(BlockClient client, String host, int port, String namespace, byte[] secret,
      List<String> ids) throws Exception {
    List<ByteBuffer> out = java.util.Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Void> done = client.fetch(host, port, namespace, secret, ids, new BlockFetchListener() {
      @Override
      public void onBlockFetchSuccess(String id, FetchedBlock block) {
        try {
          ByteBuffer src = block.nioByteBuffer();
          ByteBuffer copy = ByteBuffer.allocate(src.remaining());
          copy.put(src).flip();
          out.add(copy);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        } finally {
          block.release();
        }
      }

      @Override
      public void onBlockFetchFailure(String id, Throwable cause) {
        // counted by absence
      }
    });
    done.get(60, TimeUnit.SECONDS);
    return out;
  }
}
