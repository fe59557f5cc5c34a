package io.vrdma.hadoop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockException.AuthenticationException;
import io.vrdma.block.BlockException.BlockNotFoundException;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.server.UnknownNamespaceException;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
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
import org.apache.hadoop.mapreduce.TaskAttemptID;
import org.apache.hadoop.mapreduce.TaskType;
import org.apache.hadoop.mapreduce.security.token.JobTokenIdentifier;
import org.apache.hadoop.security.token.Token;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.api.ApplicationInitializationContext;
import org.apache.hadoop.yarn.server.api.ApplicationTerminationContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service side without a cluster: map outputs laid out as a map task leaves them in the NodeManager's
 * local dirs are published under the job's token when a container of the job ends (never before: no timer lists
 * directories), served to a client proving it, to no one else, and gone when the application stops. With a
 * recovery path, a new publisher on the same path — what a restarted NodeManager builds — serves the running
 * jobs again, those stopped not at all.
 */
class MapOutputPublisherTest {
  private static final String USER = "alice";

  @TempDir
  Path dir;
  private final ApplicationId app = ApplicationId.newInstance(1_700_000_000_000L, 7);
  private final JobID job = new JobID("1700000000000", 7);
  private final TaskAttemptID map = new TaskAttemptID(job.getJtIdentifier(), job.getId(), TaskType.MAP, 3, 0);
  private final byte[] secret = "the job's shuffle secret".getBytes(java.nio.charset.StandardCharsets.UTF_8);
  private MapOutputPublisher publisher;
  private TransportNode clientNode;
  private BlockClient client;
  private int port;
  private Configuration conf;

  @BeforeEach
  void start() throws Exception {
    port = freePort();
    conf = new Configuration(false);
    conf.set(YarnConfiguration.NM_LOCAL_DIRS, dir.resolve("nm-local-1") + "," + dir.resolve("nm-local-2"));
    conf.setInt(VrdmaShuffleConf.PORT.name(), port);
    conf.set(TransportConf.TIERS.name(), "tcp");
    publisher = new MapOutputPublisher(conf, null);
    clientNode = TransportNode.start(TransportConf.fromMap(Map.of(TransportConf.TIERS.name(), "tcp")));
    client = new BlockClient(clientNode, BlockConf.fromMap(Map.of(BlockConf.MAX_RETRIES.name(), "0")));
  }

  @AfterEach
  void stop() {
    client.close();
    clientNode.close();
    publisher.close();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private ByteBuffer serviceData(byte[] password) throws IOException {
    Token<JobTokenIdentifier> token = new Token<>(new JobTokenIdentifier(new Text(job.toString())).getBytes(),
        password, JobTokenIdentifier.KIND_NAME, new Text("localhost"));
    return ShuffleHandler.serializeServiceData(token);
  }

  /** Writes file.out and file.out.index of a map with the given partitions in one local dir, as a map task may. */
  private void writeMapOutput(byte[][] partitions) throws IOException {
    writeMapOutput(partitions, "nm-local-2", "nm-local-2");
  }

  /** The same with the data file and the index in the given local dirs (each map output file's dir is chosen alone). */
  private void writeMapOutput(byte[][] partitions, String dataDir, String indexDir) throws IOException {
    writeMapOutput(map, partitions, dataDir, indexDir);
  }

  private void writeMapOutput(TaskAttemptID map, byte[][] partitions, String dataDir, String indexDir)
      throws IOException {
    Path dataAttempt = attemptDir(map, dataDir);
    Path indexAttempt = attemptDir(map, indexDir);
    SpillRecord index = new SpillRecord(partitions.length);
    long offset = 0;
    try (var out = Files.newOutputStream(dataAttempt.resolve("file.out"))) {
      for (int p = 0; p < partitions.length; p++) {
        out.write(partitions[p]);
        index.putIndex(new IndexRecord(offset, partitions[p].length + 100L, partitions[p].length), p);
        offset += partitions[p].length;
      }
    }
    index.writeToFile(new org.apache.hadoop.fs.Path(indexAttempt.resolve("file.out.index").toUri()), new JobConf(false));
  }

  private Path attemptDir(TaskAttemptID map, String localDir) throws IOException {
    return Files.createDirectories(dir.resolve(localDir).resolve("usercache").resolve(USER).resolve("appcache")
        .resolve(app.toString()).resolve("output").resolve(map.toString()));
  }

  /** Fetches blocks: id → bytes, or → the failure. */
  private Map<String, Object> fetch(String namespace, byte[] key, List<String> ids) throws Exception {
    return BlockFetches.bytesOrFailures(client, port, namespace, key, ids);
  }

  /** Fetches until the scanner has published the blocks. */
  private Map<String, Object> fetchPublished(List<String> ids) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      Map<String, Object> got = fetch(BlockIds.namespace(job), secret, ids);
      if (got.values().stream().noneMatch(v -> v instanceof BlockNotFoundException) || System.nanoTime() > deadline) {
        return got;
      }
      Thread.sleep(50);
    }
  }

  @Test
  void servesAMapsPartitionsAndIndexRecordsToTheJobTokenOnly() throws Exception {
    Random random = new Random(5);
    byte[][] partitions = {new byte[1000], new byte[0], new byte[70_000]};
    for (byte[] p : partitions) {
      random.nextBytes(p);
    }
    publisher.initializeApplication(new ApplicationInitializationContext(USER, app, serviceData(secret)));
    writeMapOutput(partitions);
    publisher.stopContainer(ContainerEvents.containerEnded(USER, app));

    List<String> ids = List.of(BlockIds.data(map, 2), BlockIds.index(map, 2), BlockIds.data(map, 1));
    Map<String, Object> got = fetchPublished(ids);
    assertArrayEquals(partitions[2], (byte[]) got.get(BlockIds.data(map, 2)));
    assertArrayEquals(new byte[0], (byte[]) got.get(BlockIds.data(map, 1)));
    ByteBuffer record = ByteBuffer.wrap((byte[]) got.get(BlockIds.index(map, 2)));
    assertEquals(1000, record.getLong());
    assertEquals(70_100, record.getLong());
    assertEquals(70_000, record.getLong());

    // a client without the job's secret learns nothing, and reads nothing
    byte[] wrong = "another job's secret".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    Map<String, Object> refused = fetch(BlockIds.namespace(job), wrong, ids);
    assertEquals(ids.size(), refused.size());
    for (Object v : refused.values()) {
      // the service has no secret for the job, so it does not serve its namespace: the proof is refused as such
      assertTrue(v instanceof AuthenticationException || v instanceof UnknownNamespaceException, String.valueOf(v));
    }
    Map<String, Object> anonymous = fetch(BlockIds.namespace(job), null, ids);
    for (Object v : anonymous.values()) {
      assertTrue(v instanceof Throwable, "served without a secret: " + v);
    }

    // the application stops: its namespace and blocks are gone
    publisher.stopApplication(new ApplicationTerminationContext(app));
    for (Object v : fetch(BlockIds.namespace(job), secret, ids).values()) {
      assertTrue(v instanceof Throwable, "served after the application stopped: " + v);
    }
  }

  @Test
  void aMapOutputWhoseIndexIsInAnotherLocalDirIsServed() throws Exception {
    byte[][] partitions = {new byte[300], new byte[5000]};
    new Random(6).nextBytes(partitions[1]);
    publisher.initializeApplication(new ApplicationInitializationContext(USER, app, serviceData(secret)));
    writeMapOutput(partitions, "nm-local-1", "nm-local-2");
    publisher.stopContainer(ContainerEvents.containerEnded(USER, app));

    Map<String, Object> got = fetchPublished(List.of(BlockIds.data(map, 1), BlockIds.index(map, 1)));
    assertArrayEquals(partitions[1], (byte[]) got.get(BlockIds.data(map, 1)));
    assertEquals(300, ByteBuffer.wrap((byte[]) got.get(BlockIds.index(map, 1))).getLong());
  }

  @Test
  void aJobWithoutTokenIsNotServed() throws Exception {
    publisher.initializeApplication(new ApplicationInitializationContext(USER, app, ByteBuffer.allocate(0)));
    writeMapOutput(new byte[][] {new byte[10]});
    publisher.stopContainer(ContainerEvents.containerEnded(USER, app));
    Thread.sleep(300);
    for (Object v : fetch(BlockIds.namespace(job), secret, List.of(BlockIds.data(map, 0))).values()) {
      // the service has no secret for the job, so it does not serve its namespace: the proof is refused as such
      assertTrue(v instanceof AuthenticationException || v instanceof UnknownNamespaceException, String.valueOf(v));
    }
  }

  @Test
  void aMapOutputIsPublishedWhenAContainerOfItsJobEndsAndNotBefore() throws Exception {
    byte[][] partitions = {new byte[100], new byte[200]};
    new Random(8).nextBytes(partitions[1]);
    publisher.initializeApplication(new ApplicationInitializationContext(USER, app, serviceData(secret)));
    writeMapOutput(partitions);
    List<String> ids = List.of(BlockIds.data(map, 1));
    // longer than the 200 ms the service used to list every job's directories on a timer
    Thread.sleep(600);
    Object before = fetch(BlockIds.namespace(job), secret, ids).get(ids.get(0));
    assertInstanceOf(BlockNotFoundException.class, before, "published with no container ended: " + before);

    // another application's container ending publishes nothing of this one
    ApplicationId other = ApplicationId.newInstance(1_700_000_000_000L, 8);
    publisher.stopContainer(ContainerEvents.containerEnded(USER, other));
    Thread.sleep(300);
    assertInstanceOf(BlockNotFoundException.class, fetch(BlockIds.namespace(job), secret, ids).get(ids.get(0)));

    publisher.stopContainer(ContainerEvents.containerEnded(USER, app));
    assertArrayEquals(partitions[1], (byte[]) fetchPublished(ids).get(ids.get(0)));
  }

  @Test
  void withARecoveryPathANewPublisherServesTheRunningJobAgainAndItsMapsThatEndedMeanwhile() throws Exception {
    File recovery = Files.createDirectories(dir.resolve("recovery")).toFile();
    publisher.close();
    publisher = new MapOutputPublisher(conf, recovery);
    byte[][] before = {new byte[3000], new byte[17]};
    byte[][] meanwhile = {new byte[5], new byte[90_000]};
    Random random = new Random(9);
    for (byte[][] partitions : List.of(before, meanwhile)) {
      for (byte[] p : partitions) {
        random.nextBytes(p);
      }
    }
    publisher.initializeApplication(new ApplicationInitializationContext(USER, app, serviceData(secret)));
    writeMapOutput(before);
    publisher.stopContainer(ContainerEvents.containerEnded(USER, app));
    List<String> beforeIds = List.of(BlockIds.data(map, 0), BlockIds.data(map, 1), BlockIds.index(map, 1));
    assertArrayEquals(before[0], (byte[]) fetchPublished(beforeIds).get(BlockIds.data(map, 0)));

    // the NodeManager stops (no stopApplication: the job runs on), a map ends while it is down, and it restarts:
    // a new publisher on the same recovery path, which is told of no application and no container
    publisher.close();
    TaskAttemptID mapMeanwhile = new TaskAttemptID(job.getJtIdentifier(), job.getId(), TaskType.MAP, 4, 0);
    writeMapOutput(mapMeanwhile, meanwhile, "nm-local-1", "nm-local-1");
    publisher = new MapOutputPublisher(conf, recovery);

    List<String> ids = List.of(BlockIds.data(map, 0), BlockIds.data(map, 1), BlockIds.data(mapMeanwhile, 1),
        BlockIds.index(mapMeanwhile, 1));
    Map<String, Object> got = fetchPublished(ids);
    assertArrayEquals(before[0], (byte[]) got.get(BlockIds.data(map, 0)));
    assertArrayEquals(before[1], (byte[]) got.get(BlockIds.data(map, 1)));
    assertArrayEquals(meanwhile[1], (byte[]) got.get(BlockIds.data(mapMeanwhile, 1)));
    assertEquals(5, ByteBuffer.wrap((byte[]) got.get(BlockIds.index(mapMeanwhile, 1))).getLong());
    // still only to the job token
    byte[] wrong = "another job's secret".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    for (Object v : fetch(BlockIds.namespace(job), wrong, ids).values()) {
      // the service has no secret for the job, so it does not serve its namespace: the proof is refused as such
      assertTrue(v instanceof AuthenticationException || v instanceof UnknownNamespaceException, String.valueOf(v));
    }
    // the job's containers start again after the restart: served once, as before
    publisher.initializeApplication(new ApplicationInitializationContext(USER, app, serviceData(secret)));
    assertArrayEquals(before[1], (byte[]) fetch(BlockIds.namespace(job), secret, ids).get(BlockIds.data(map, 1)));

    // the application stops, then the NodeManager restarts: nothing of the job is served any more
    publisher.stopApplication(new ApplicationTerminationContext(app));
    publisher.close();
    publisher = new MapOutputPublisher(conf, recovery);
    Thread.sleep(300);
    for (Object v : fetch(BlockIds.namespace(job), secret, ids).values()) {
      assertTrue(v instanceof Throwable, "served after the application stopped and the service restarted: " + v);
    }
  }

  @Test
  void withoutARecoveryPathANewPublisherKnowsNoJob() throws Exception {
    publisher.initializeApplication(new ApplicationInitializationContext(USER, app, serviceData(secret)));
    writeMapOutput(new byte[][] {new byte[40]});
    publisher.stopContainer(ContainerEvents.containerEnded(USER, app));
    fetchPublished(List.of(BlockIds.data(map, 0)));
    publisher.close();
    publisher = new MapOutputPublisher(conf, null);
    Thread.sleep(300);
    for (Object v : fetch(BlockIds.namespace(job), secret, List.of(BlockIds.data(map, 0))).values()) {
      assertTrue(v instanceof Throwable, "a job served by a restarted service without recovery: " + v);
    }
  }
}
