package io.vrdma.hadoop;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.mapreduce.MRConfig;
import org.apache.hadoop.mapreduce.MRJobConfig;
import org.apache.hadoop.mapreduce.v2.MiniMRYarnCluster;
import org.apache.hadoop.yarn.conf.YarnConfiguration;

/**
 * A MiniMRYarnCluster with one NodeManager whose {@code mapreduce_shuffle} service is our handler and whose jobs
 * use our consumer plugin, as conf/yarn-site.xml and conf/mapred-site.xml set up a real cluster. Our classes are
 * named here, not referenced: {@link ShadedPluginJarJob} runs this with the NodeManager loading them from an
 * isolated class loader, and none of them on its class path.
 */
final class ShuffleCluster {
  static final String HANDLER_CLASS = "io.vrdma.hadoop.VrdmaShuffleHandler";
  static final String CONSUMER_CLASS = "io.vrdma.hadoop.VrdmaShuffle";
  /** {@code VrdmaShuffleConf.PORT}. */
  static final String PORT_KEY = "vrdma.hadoop.shuffle.port";
  /** {@code VrdmaShuffleConf.HOST_LOCAL}. */
  static final String HOST_LOCAL_KEY = "vrdma.hadoop.shuffle.hostLocal";
  static final String SHUFFLE_CLASS_KEY = "yarn.nodemanager.aux-services.mapreduce_shuffle.class";
  /** Hadoop 3.3+: the service's own class path, loaded by an isolated class loader. */
  static final String SHUFFLE_CLASSPATH_KEY = "yarn.nodemanager.aux-services.mapreduce_shuffle.classpath";

  private ShuffleCluster() {}

  /**
   * MiniMRYarnCluster's serviceInit sets {@code mapreduce_shuffle} to Hadoop's ShuffleHandler; this
   * configuration keeps ours there, as a yarn-site.xml does on a real cluster.
   */
  static final class ShuffleClassKeepingConf extends YarnConfiguration {
    @Override
    public void set(String name, String value, String source) {
      super.set(name, SHUFFLE_CLASS_KEY.equals(name) ? HANDLER_CLASS : value, source);
    }
  }

  /** The shm arena of the cluster's NodeManager and tasks: about 0.9 MiB of chunks. */
  static final String ARENA_BYTES = "1m";

  /** The cluster's configuration: our service on a free port, its shm arena in {@code dir}, small containers. */
  static Configuration conf(Path dir) throws IOException {
    Configuration conf = new ShuffleClassKeepingConf();
    conf.set(SHUFFLE_CLASS_KEY, HANDLER_CLASS);
    conf.setInt(PORT_KEY, freePort());
    conf.set("vrdma.transport.shm.arenaPath", dir.resolve("arena").toString());
    // a window far smaller than the jobs' shuffles: map outputs are staged when reducers ask, never stored
    conf.set("vrdma.transport.shm.arenaBytes", ARENA_BYTES);
    conf.setLong("yarn.nodemanager.sleep-delay-before-sigkill.ms", 100);
    conf.setLong("yarn.nodemanager.process-kill-wait.ms", 100);
    conf.set(MRConfig.SHUFFLE_CONSUMER_PLUGIN, CONSUMER_CLASS);
    // one NodeManager: every map output is on the reducer's host, and would be read from the local dirs; jobs
    // here go over the tiers unless a test turns host-local reads on
    conf.setBoolean(HOST_LOCAL_KEY, false);
    conf.setInt(MRJobConfig.MAP_MEMORY_MB, 512);
    conf.setInt(MRJobConfig.REDUCE_MEMORY_MB, 512);
    conf.setInt("yarn.app.mapreduce.am.resource.mb", 512);
    return conf;
  }

  /** Starts a cluster of one NodeManager with {@code conf}. */
  static MiniMRYarnCluster start(String name, Configuration conf) {
    MiniMRYarnCluster cluster = new MiniMRYarnCluster(name, 1);
    cluster.init(conf);
    cluster.start();
    return cluster;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
