package io.vrdma.hadoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.mapred.ShuffleHandler;
import org.apache.hadoop.mapreduce.Counters;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.MRConfig;
import org.apache.hadoop.mapreduce.MRJobConfig;
import org.apache.hadoop.mapreduce.TaskCounter;
import org.apache.hadoop.mapreduce.v2.MiniMRYarnCluster;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.nodemanager.containermanager.AuxServices;
import org.apache.hadoop.yarn.server.nodemanager.containermanager.records.AuxServiceConfiguration;
import org.apache.hadoop.yarn.server.nodemanager.containermanager.records.AuxServiceRecord;
import org.apache.hadoop.yarn.server.nodemanager.containermanager.records.AuxServiceRecords;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * NodeManager recovery ({@code yarn.nodemanager.recovery.enabled}) of our service, in a MiniMRYarnCluster, mid-job.
 *
 * <p>What is restarted: the {@code mapreduce_shuffle} service object, by the NodeManager itself, not the whole
 * NodeManager process — MiniYARNCluster cannot restart a NodeManager in place. The NodeManager runs with recovery
 * on and its auxiliary services from a manifest ({@code yarn.nodemanager.aux-services.manifest.enabled}); the test
 * loads version 1 of the service record, and mid-job hands the NodeManager version 2 ({@link AuxServices#reload},
 * what the NodeManager's REST call {@code PUT /ws/v1/node/auxiliaryservices} does): the NodeManager stops the running
 * {@link VrdmaShuffleHandler}, creates a new one, gives it the same recovery path and starts it — the same steps as
 * after a NodeManager restart, with everything in memory gone (Hadoop's half recovers its job tokens, ours its
 * namespace secrets from {@link JobSecretStore}).
 *
 * <p>When: after every map has finished and every reducer has started (their containers' starts have told the old
 * service the job token; no container of the job starts after the restart, so the new service learns the job only
 * from its store), and before any reducer fetches ({@link GatedVrdmaShuffle} holds them). Then the reducers fetch,
 * and every map output comes over our tiers (shm here: the NodeManager and the reducers share the arena), none over
 * HTTP. Without the store the new service would refuse the job's namespace and every map output would go over HTTP
 * ({@code MapOutputPublisherTest.withoutARecoveryPathANewPublisherKnowsNoJob} shows the service side of that).
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class NodeManagerRecoveryTest {
  private static final int MAPS = 3;
  private static final int REDUCES = 2;
  private static Path dir;
  private static MiniMRYarnCluster cluster;
  private static Configuration jobConf;
  private static int httpPort;

  @BeforeAll
  static void startCluster() throws Exception {
    dir = Files.createTempDirectory("vrdma-nm-recovery");
    Configuration conf = ShuffleCluster.conf(dir);
    conf.setBoolean(YarnConfiguration.NM_RECOVERY_ENABLED, true);
    conf.set(YarnConfiguration.NM_RECOVERY_DIR, dir.resolve("nm-recovery").toString());
    conf.setBoolean(YarnConfiguration.NM_AUX_SERVICES_MANIFEST_ENABLED, true);
    httpPort = ShuffleCluster.freePort();
    cluster = new MiniMRYarnCluster(NodeManagerRecoveryTest.class.getSimpleName(), 1);
    cluster.init(conf);
    // recovery refuses an ephemeral NodeManager port, which MiniYARNCluster always sets: a fixed one, set on the
    // NodeManager's configuration before it starts
    cluster.getNodeManager(0).getConfig().set(YarnConfiguration.NM_ADDRESS,
        MiniYARNCluster.getHostname() + ":" + ShuffleCluster.freePort());
    cluster.start();
    auxServices().reload(serviceRecords("1"));
    assertEquals("1", auxServices().getServiceRecords().iterator().next().getVersion());
    jobConf = new Configuration(cluster.getConfig());
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.stop();
    }
  }

  private static AuxServices auxServices() {
    return cluster.getNodeManager(0).getNMContext().getAuxServices();
  }

  /** Our handler as {@code mapreduce_shuffle}, HTTP on a fixed port (the map completion events carry it). */
  private static AuxServiceRecords serviceRecords(String version) {
    AuxServiceConfiguration conf = new AuxServiceConfiguration();
    conf.setProperty("class.name", ShuffleCluster.HANDLER_CLASS);
    conf.setProperty(ShuffleHandler.SHUFFLE_PORT_CONFIG_KEY, Integer.toString(httpPort));
    return new AuxServiceRecords().serviceList(new AuxServiceRecord().name(ShuffleHandler.MAPREDUCE_SHUFFLE_SERVICEID)
        .version(version).configuration(conf));
  }

  private static org.apache.hadoop.fs.Path path(String name) {
    return new org.apache.hadoop.fs.Path(dir.resolve(name).toUri());
  }

  @Test
  void afterTheServiceRestartsMidJobTheReducersFetchEveryMapOutputOverOurTiers() throws Exception {
    FileSystem fs = FileSystem.getLocal(jobConf);
    Map<String, Long> expected = Jobs.writeRecords(fs, path("records"), MAPS, 20_000, 23);
    Path gate = Files.createDirectories(dir.resolve("gate"));
    Configuration conf = new Configuration(jobConf);
    conf.set(MRConfig.SHUFFLE_CONSUMER_PLUGIN, GatedVrdmaShuffle.class.getName());
    conf.set(GatedVrdmaShuffle.GATE_DIR, gate.toString());
    // reducers start once every map has finished: all map outputs are on disk before the restart
    conf.setFloat(MRJobConfig.COMPLETED_MAPS_FOR_REDUCE_SLOWSTART, 1.0f);
    Job job = Jobs.sortRecords(conf, path("records"), path("sorted"), REDUCES);
    job.submit();

    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (waiting(gate) < REDUCES) {
      assertFalse(job.isComplete(), "the job ended before its reducers reached the gate: " + job.getStatus());
      assertTrue(System.nanoTime() < deadline, "reducers waiting at the gate: " + waiting(gate) + " of " + REDUCES);
      Thread.sleep(100);
    }
    assertEquals(1.0f, job.mapProgress(), 0.0f);

    // the NodeManager stops the service and starts a new one on the same recovery path
    auxServices().reload(serviceRecords("2"));
    AuxServiceRecord running = auxServices().getServiceRecords().iterator().next();
    assertEquals("2", running.getVersion(), "the NodeManager did not restart the service");
    assertNotNull(running.getLaunchTime());
    Files.createFile(gate.resolve(GatedVrdmaShuffle.OPEN));

    assertTrue(job.waitForCompletion(false), "job failed");
    assertEquals(expected, Jobs.readOutput(fs, path("sorted")));
    Counters counters = job.getCounters();
    long shuffled = counters.findCounter(TaskCounter.REDUCE_SHUFFLE_BYTES).getValue();
    System.out.println("NodeManagerRecoveryTest: after the restart: vRDMA maps "
        + counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS).getValue() + ", HTTP fallback maps "
        + counters.findCounter(VrdmaShuffleCounter.VRDMA_FALLBACK_MAPS).getValue() + ", shm bytes "
        + counters.findCounter(VrdmaShuffleCounter.VRDMA_SHM_BYTES).getValue() + ", shuffled bytes " + shuffled);
    assertEquals(0, counters.findCounter(VrdmaShuffleCounter.VRDMA_FALLBACK_MAPS).getValue(), "maps over HTTP");
    assertEquals(MAPS * (long) REDUCES, counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS).getValue());
    assertEquals(shuffled, counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_BYTES).getValue());
    assertTrue(counters.findCounter(VrdmaShuffleCounter.VRDMA_SHM_BYTES).getValue() >= shuffled,
        "shm " + counters.findCounter(VrdmaShuffleCounter.VRDMA_SHM_BYTES).getValue() + ", shuffled " + shuffled);
  }

  private static long waiting(Path gate) throws java.io.IOException {
    try (Stream<Path> files = Files.list(gate)) {
      return files.filter(p -> p.getFileName().toString().startsWith("waiting-")).count();
    }
  }
}
