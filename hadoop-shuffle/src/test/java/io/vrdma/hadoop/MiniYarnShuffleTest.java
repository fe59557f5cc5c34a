package io.vrdma.hadoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.mapreduce.Counters;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.MRConfig;
import org.apache.hadoop.mapreduce.MRJobConfig;
import org.apache.hadoop.mapreduce.TaskCounter;
import org.apache.hadoop.mapreduce.v2.MiniMRYarnCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * MapReduce jobs on a MiniMRYarnCluster (one NodeManager) whose {@code mapreduce_shuffle} service is our
 * {@link VrdmaShuffleHandler}, and whose jobs use our plugin: output equal to the expected one,
 * with the bytes counted on our path; and with our service out of reach, the same output over HTTP.
 */
class MiniYarnShuffleTest {
  private static final int MAPS = 3;
  private static final int REDUCES = 3;
  private static Path dir;
  private static MiniMRYarnCluster cluster;
  private static Configuration jobConf;

  @BeforeAll
  static void startCluster() throws Exception {
    dir = Files.createTempDirectory("vrdma-miniyarn");
    cluster = ShuffleCluster.start(MiniYarnShuffleTest.class.getSimpleName(), ShuffleCluster.conf(dir));
    jobConf = new Configuration(cluster.getConfig());
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.stop();
    }
  }

  private static org.apache.hadoop.fs.Path path(String name) {
    return new org.apache.hadoop.fs.Path(dir.resolve(name).toUri());
  }

  @Test
  void theClusterNamesOurClassesAndPortKeyAsTheyAre() {
    // ShuffleCluster names them as strings (the shaded jar's test runs without our classes on its class path)
    assertEquals(VrdmaShuffleHandler.class.getName(), ShuffleCluster.HANDLER_CLASS);
    assertEquals(VrdmaShuffle.class.getName(), ShuffleCluster.CONSUMER_CLASS);
    assertEquals(VrdmaShuffleConf.PORT.name(), ShuffleCluster.PORT_KEY);
    assertEquals(VrdmaShuffleConf.HOST_LOCAL.name(), ShuffleCluster.HOST_LOCAL_KEY);
  }

  @Test
  void sortOfRandomRecordsMovesOverOurTiersToDiskAndIsExact() throws Exception {
    FileSystem fs = FileSystem.getLocal(jobConf);
    Map<String, Long> expected = Jobs.writeRecords(fs, path("records"), MAPS, 20_000, 7);
    Configuration conf = new Configuration(jobConf);
    // a single map output may take only ~0.01% of the merge memory: every one goes to disk (OnDiskMapOutput)
    conf.setFloat(MRJobConfig.SHUFFLE_MEMORY_LIMIT_PERCENT, 0.0001f);
    // maps spill several times and merge the spills, which places file.out and file.out.index in local dirs
    // of their own (a single spill keeps them together): our service must find each wherever it is
    conf.setInt(MRJobConfig.IO_SORT_MB, 1);
    conf.setFloat(MRJobConfig.MAP_SORT_SPILL_PERCENT, 0.1f);
    Job job = Jobs.sortRecords(conf, path("records"), path("sorted"), REDUCES);
    assertTrue(job.waitForCompletion(false), "job failed");

    assertEquals(expected, Jobs.readOutput(fs, path("sorted")));
    Counters counters = job.getCounters();
    assertEquals(MAPS * (long) REDUCES, counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS).getValue());
    assertEquals(0, counters.findCounter(VrdmaShuffleCounter.VRDMA_FALLBACK_MAPS).getValue());
    // every byte Hadoop counts as shuffled came over our path
    long shuffled = counters.findCounter(TaskCounter.REDUCE_SHUFFLE_BYTES).getValue();
    assertTrue(shuffled > 20_000L * MAPS, "shuffled " + shuffled);
    assertEquals(shuffled, counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_BYTES).getValue());
    // the NodeManager and the reducers share the arena file: the bytes came over shm (plus index records)
    assertTrue(counters.findCounter(VrdmaShuffleCounter.VRDMA_SHM_BYTES).getValue() >= shuffled,
        "shm " + counters.findCounter(VrdmaShuffleCounter.VRDMA_SHM_BYTES).getValue() + ", tcp "
            + counters.findCounter(VrdmaShuffleCounter.VRDMA_TCP_BYTES).getValue() + ", shuffled " + shuffled);
  }

  @Test
  void aSortEightTimesTheArenaMovesEveryMapOutputOverShm() throws Exception {
    FileSystem fs = FileSystem.getLocal(jobConf);
    // 16 maps: a reducer's 16 index records, staged at once, take more chunks than the window has, so they must be
    // let go as they arrive; 96 map outputs of about 0.1 MB: each fits the window, all together are many windows
    int maps = 16;
    int reduces = 6;
    Map<String, Long> expected = Jobs.writeRecords(fs, path("big-records"), maps, 30_000, 11);
    Configuration conf = new Configuration(jobConf);
    Job job = Jobs.sortRecords(conf, path("big-records"), path("big-sorted"), reduces);
    assertTrue(job.waitForCompletion(false), "job failed");

    assertEquals(expected, Jobs.readOutput(fs, path("big-sorted")));
    Counters counters = job.getCounters();
    long shuffled = counters.findCounter(TaskCounter.REDUCE_SHUFFLE_BYTES).getValue();
    long arena = org.apache.hadoop.util.StringUtils.TraditionalBinaryPrefix.string2long(ShuffleCluster.ARENA_BYTES);
    assertTrue(shuffled > 8 * arena, "shuffled " + shuffled + " is eight arenas of " + arena);
    assertEquals((long) maps * reduces, counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS).getValue());
    assertEquals(0, counters.findCounter(VrdmaShuffleCounter.VRDMA_FALLBACK_MAPS).getValue());
    assertEquals(shuffled, counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_BYTES).getValue());
    assertEquals(0, counters.findCounter(VrdmaShuffleCounter.VRDMA_TCP_BYTES).getValue(), "nothing over tcp");
    assertTrue(counters.findCounter(VrdmaShuffleCounter.VRDMA_SHM_BYTES).getValue() >= shuffled,
        "shm " + counters.findCounter(VrdmaShuffleCounter.VRDMA_SHM_BYTES).getValue() + ", shuffled " + shuffled);
  }

  @Test
  void wordCountWithCombinerMovesOverOurTiersAndMatchesTheStockShuffle() throws Exception {
    FileSystem fs = FileSystem.getLocal(jobConf);
    Map<String, Long> expected = Jobs.writeWords(fs, path("words"), MAPS, 5000, 11);
    Job job = Jobs.wordCount(jobConf, path("words"), path("counts"), REDUCES);
    assertTrue(job.waitForCompletion(false), "job failed");

    assertEquals(expected, Jobs.readOutput(fs, path("counts")));
    Counters counters = job.getCounters();
    assertEquals(MAPS * (long) REDUCES, counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS).getValue());
    assertTrue(counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_BYTES).getValue() > 0);
    assertTrue(counters.findCounter(TaskCounter.COMBINE_INPUT_RECORDS).getValue()
        > counters.findCounter(TaskCounter.COMBINE_OUTPUT_RECORDS).getValue(), "the combiner combined nothing");

    // the same job with Hadoop's own shuffle: same output, same shuffle and reduce counters
    Configuration stockConf = new Configuration(jobConf);
    stockConf.set(MRConfig.SHUFFLE_CONSUMER_PLUGIN, "org.apache.hadoop.mapreduce.task.reduce.Shuffle");
    Job stock = Jobs.wordCount(stockConf, path("words"), path("counts-stock"), REDUCES);
    assertTrue(stock.waitForCompletion(false), "stock job failed");
    assertEquals(Jobs.readOutput(fs, path("counts-stock")), Jobs.readOutput(fs, path("counts")));
    Counters stockCounters = stock.getCounters();
    assertEquals(0, stockCounters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS).getValue());
    for (TaskCounter c : new TaskCounter[] {TaskCounter.SHUFFLED_MAPS, TaskCounter.REDUCE_SHUFFLE_BYTES,
        TaskCounter.REDUCE_INPUT_GROUPS, TaskCounter.REDUCE_INPUT_RECORDS, TaskCounter.REDUCE_OUTPUT_RECORDS,
        TaskCounter.COMBINE_INPUT_RECORDS, TaskCounter.COMBINE_OUTPUT_RECORDS, TaskCounter.MAP_OUTPUT_RECORDS}) {
      assertEquals(stockCounters.findCounter(c).getValue(), counters.findCounter(c).getValue(), c.name());
    }
  }

  @Test
  void mapOutputsOnTheReducersOwnHostAreReadFromTheJobsLocalDirs() throws Exception {
    FileSystem fs = FileSystem.getLocal(jobConf);
    Map<String, Long> expected = Jobs.writeRecords(fs, path("records-local"), MAPS, 20_000, 17);
    Configuration conf = new Configuration(jobConf);
    conf.setBoolean(VrdmaShuffleConf.HOST_LOCAL.name(), true);
    // several spills per map: the data file and its index end up in different local dirs
    conf.setInt(MRJobConfig.IO_SORT_MB, 1);
    conf.setFloat(MRJobConfig.MAP_SORT_SPILL_PERCENT, 0.1f);
    Job job = Jobs.sortRecords(conf, path("records-local"), path("sorted-local"), REDUCES);
    assertTrue(job.waitForCompletion(false), "job failed");

    assertEquals(expected, Jobs.readOutput(fs, path("sorted-local")));
    Counters counters = job.getCounters();
    assertEquals(MAPS * (long) REDUCES, counters.findCounter(VrdmaShuffleCounter.VRDMA_LOCAL_MAPS).getValue());
    assertEquals(0, counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS).getValue());
    assertEquals(0, counters.findCounter(VrdmaShuffleCounter.VRDMA_FALLBACK_MAPS).getValue());
    assertEquals(counters.findCounter(TaskCounter.REDUCE_SHUFFLE_BYTES).getValue(),
        counters.findCounter(VrdmaShuffleCounter.VRDMA_LOCAL_BYTES).getValue());
  }

  @Test
  void withOurServiceOutOfReachTheJobSucceedsOverHttp() throws Exception {
    FileSystem fs = FileSystem.getLocal(jobConf);
    Map<String, Long> expected = Jobs.writeWords(fs, path("words-fallback"), MAPS, 2000, 13);
    Configuration conf = new Configuration(jobConf);
    conf.setInt(VrdmaShuffleConf.PORT.name(), ShuffleCluster.freePort()); // nothing listens there
    conf.set("vrdma.block.maxRetries", "0");
    Job job = Jobs.wordCount(conf, path("words-fallback"), path("counts-fallback"), REDUCES);
    assertTrue(job.waitForCompletion(false), "job failed");

    assertEquals(expected, Jobs.readOutput(fs, path("counts-fallback")));
    Counters counters = job.getCounters();
    assertEquals(0, counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS).getValue());
    assertEquals(MAPS * (long) REDUCES, counters.findCounter(VrdmaShuffleCounter.VRDMA_FALLBACK_MAPS).getValue());
  }

  /** The NodeManager's JMX bean of our service's metrics2 source, read fresh (Hadoop caches bean values a while). */
  private static long nodeManagerMetric(String attribute) throws Exception {
    MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
    Set<ObjectName> beans = jmx.queryNames(new ObjectName("Hadoop:service=*,name=" + ShuffleServiceMetrics.NAME + "*"),
        null);
    assertEquals(1, beans.size(), "our metrics source's beans: " + beans);
    return ((Number) jmx.getAttribute(beans.iterator().next(), attribute)).longValue();
  }

  @Test
  void theNodeManagerShowsOurServiceMetricsOverJmx() throws Exception {
    FileSystem fs = FileSystem.getLocal(jobConf);
    Map<String, Long> expected = Jobs.writeWords(fs, path("words-metrics"), MAPS, 2000, 19);
    Job job = Jobs.wordCount(jobConf, path("words-metrics"), path("counts-metrics"), REDUCES);
    assertTrue(job.waitForCompletion(false), "job failed");
    assertEquals(expected, Jobs.readOutput(fs, path("counts-metrics")));
    long shm = job.getCounters().findCounter(VrdmaShuffleCounter.VRDMA_SHM_BYTES).getValue();
    assertTrue(shm > 0, "the job read nothing over shm");

    // the bean's values are refreshed once its cache (the metrics period, 10 s by default) has expired
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    while (nodeManagerMetric("PublishedOutputs") < MAPS || nodeManagerMetric("ServedBytesShm") < shm) {
      assertTrue(System.nanoTime() < deadline, "published " + nodeManagerMetric("PublishedOutputs") + ", served over"
          + " shm " + nodeManagerMetric("ServedBytesShm") + " B, the job read " + shm + " B over shm");
      Thread.sleep(500);
    }
    assertTrue(nodeManagerMetric("ServedBlocksShm") >= MAPS * (long) REDUCES, "blocks located over shm");
    assertTrue(nodeManagerMetric("RunningJobs") >= 0);
    assertEquals(0, nodeManagerMetric("RefusedConnections"), "the service refused connections of a healthy job");
    System.out.printf("NodeManager metrics over JMX: published %d, served over shm %d blocks / %d B, over tcp %d B%n",
        nodeManagerMetric("PublishedOutputs"), nodeManagerMetric("ServedBlocksShm"),
        nodeManagerMetric("ServedBytesShm"), nodeManagerMetric("ServedBytesTcp"));
  }
}
