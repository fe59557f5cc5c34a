package io.vrdma.hadoop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockException.AuthenticationException;
import io.vrdma.block.BlockException.BlockNotFoundException;
import io.vrdma.block.client.BlockClient;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.CapturingRelay;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapred.IndexRecord;
import org.apache.hadoop.mapred.JobConf;
import org.apache.hadoop.mapred.ShuffleHandler;
import org.apache.hadoop.mapred.SpillRecord;
import org.apache.hadoop.mapreduce.JobID;
import org.apache.hadoop.mapreduce.MRConfig;
import org.apache.hadoop.mapreduce.TaskAttemptID;
import org.apache.hadoop.mapreduce.TaskType;
import org.apache.hadoop.mapreduce.security.token.JobTokenIdentifier;
import org.apache.hadoop.security.token.Token;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.api.ApplicationInitializationContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mapreduce.shuffle.ssl.enabled}: the NodeManager's service requires encryption, keyed by the job token's
 * shuffle secret. A reducer configured the same way reads map outputs intact while a wiretap between them finds no
 * 64-byte run of them; a reducer that does not encrypt is refused (and would take Hadoop's HTTPS fetcher).
 */
class ShuffleSslEncryptionTest {
  private static final String USER = "alice";

  @TempDir
  Path dir;
  private final ApplicationId app = ApplicationId.newInstance(1_700_000_000_000L, 9);
  private final JobID job = new JobID("1700000000000", 9);
  private final TaskAttemptID map = new TaskAttemptID(job.getJtIdentifier(), job.getId(), TaskType.MAP, 1, 0);
  private final byte[] secret = "the job's shuffle secret".getBytes(StandardCharsets.UTF_8);

  @Test
  void shuffleSslRequiresEncryptionAndTheEngineWinsOverThePluginsFalse() {
    Configuration conf = new Configuration(false);
    assertFalse(HadoopWireSecurity.layerSettings(conf).containsKey(TransportConf.ENCRYPTION_REQUIRED.name()));
    conf.setBoolean(MRConfig.SHUFFLE_SSL_ENABLED_KEY, true);
    conf.setBoolean(TransportConf.ENCRYPTION_REQUIRED.name(), false);
    assertEquals("true", HadoopWireSecurity.layerSettings(conf).get(TransportConf.ENCRYPTION_REQUIRED.name()));
  }

  @Test
  void mapOutputsCrossTheWireOnlyEncryptedAndAPlaintextReducerIsRefused() throws Exception {
    int port = freePort();
    Configuration nm = new Configuration(false);
    nm.set(YarnConfiguration.NM_LOCAL_DIRS, dir.resolve("nm-local").toString());
    nm.setInt(VrdmaShuffleConf.PORT.name(), port);
    nm.set(TransportConf.TIERS.name(), "tcp");
    nm.setBoolean(MRConfig.SHUFFLE_SSL_ENABLED_KEY, true);
    byte[][] partitions = {new byte[300_000], new byte[5], new byte[70_001]};
    Random random = new Random(11);
    for (byte[] p : partitions) {
      random.nextBytes(p);
    }
    try (MapOutputPublisher publisher = new MapOutputPublisher(nm, null);
        CapturingRelay relay = new CapturingRelay("127.0.0.1", port)) {
      publisher.initializeApplication(new ApplicationInitializationContext(USER, app, serviceData()));
      writeMapOutput(partitions);
      publisher.stopContainer(ContainerEvents.containerEnded(USER, app));
      List<String> ids = List.of(BlockIds.data(map, 0), BlockIds.data(map, 1), BlockIds.data(map, 2));

      JobConf reducer = new JobConf(false);
      reducer.set(TransportConf.TIERS.name(), "tcp");
      reducer.setBoolean(MRConfig.SHUFFLE_SSL_ENABLED_KEY, true);
      Map<String, String> settings = HadoopWireSecurity.layerSettings(reducer);
      Map<String, Object> got;
      try (TransportNode node = TransportNode.start(TransportConf.fromMap(settings));
          BlockClient client = new BlockClient(node, BlockConf.fromMap(Map.of(BlockConf.MAX_RETRIES.name(), "0")))) {
        got = fetchPublished(client, relay.port(), ids);
      }
      for (int p = 0; p < partitions.length; p++) {
        assertArrayEquals(partitions[p], (byte[]) got.get(ids.get(p)), ids.get(p));
      }
      byte[] wire = relay.captured();
      for (byte[] p : partitions) {
        assertEquals(-1, CapturingRelay.findAnyWindow(p, wire, 64), "map output bytes on the wire in plaintext");
      }

      try (TransportNode node = TransportNode.start(TransportConf.fromMap(Map.of(TransportConf.TIERS.name(), "tcp")));
          BlockClient client = new BlockClient(node, BlockConf.fromMap(Map.of(BlockConf.MAX_RETRIES.name(), "0")))) {
        Map<String, Object> refused = fetch(client, port, ids);
        for (Object v : refused.values()) {
          assertInstanceOf(AuthenticationException.class, v, String.valueOf(v));
        }
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private ByteBuffer serviceData() throws IOException {
    Token<JobTokenIdentifier> token = new Token<>(new JobTokenIdentifier(new Text(job.toString())).getBytes(),
        secret, JobTokenIdentifier.KIND_NAME, new Text("localhost"));
    return ShuffleHandler.serializeServiceData(token);
  }

  private void writeMapOutput(byte[][] partitions) throws IOException {
    Path attempt = Files.createDirectories(dir.resolve("nm-local").resolve("usercache").resolve(USER)
        .resolve("appcache").resolve(app.toString()).resolve("output").resolve(map.toString()));
    SpillRecord index = new SpillRecord(partitions.length);
    long offset = 0;
    try (var out = Files.newOutputStream(attempt.resolve("file.out"))) {
      for (int p = 0; p < partitions.length; p++) {
        out.write(partitions[p]);
        index.putIndex(new IndexRecord(offset, partitions[p].length + 100L, partitions[p].length), p);
        offset += partitions[p].length;
      }
    }
    index.writeToFile(new org.apache.hadoop.fs.Path(attempt.resolve("file.out.index").toUri()), new JobConf(false));
  }

  private Map<String, Object> fetchPublished(BlockClient client, int port, List<String> ids) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      Map<String, Object> got = fetch(client, port, ids);
      if (got.values().stream().noneMatch(v -> v instanceof BlockNotFoundException) || System.nanoTime() > deadline) {
        for (Object v : got.values()) {
          assertNull(v instanceof Throwable t ? t.toString() : null);
        }
        return got;
      }
      Thread.sleep(50);
    }
  }

  private Map<String, Object> fetch(BlockClient client, int port, List<String> ids) throws Exception {
    return BlockFetches.bytesOrFailures(client, port, BlockIds.namespace(job), secret, ids);
  }
}
