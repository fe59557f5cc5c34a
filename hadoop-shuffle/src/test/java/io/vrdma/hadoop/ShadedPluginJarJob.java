package io.vrdma.hadoop;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.Counters;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.MRConfig;
import org.apache.hadoop.mapreduce.MRJobConfig;
import org.apache.hadoop.mapreduce.lib.reduce.LongSumReducer;
import org.apache.hadoop.mapreduce.v2.MiniMRYarnCluster;
import org.apache.hadoop.yarn.server.api.AuxiliaryService;
import org.apache.hadoop.yarn.server.nodemanager.containermanager.AuxServices;

/**
 * The job {@link ShadedPluginJarIT} runs in a JVM of its own, whose class path has Hadoop's jars and none of our
 * modules' classes: a MiniMRYarnCluster of one NodeManager (in this JVM) and a sort whose reducers fetch with our
 * consumer plugin. Its tasks' JVMs get this JVM's class path. Where our classes come from is the first argument:
 * {@code classpath} (the plugin jar is on this JVM's class path) or {@code aux-classpath} (the NodeManager loads
 * the service from the jar through {@code yarn.nodemanager.aux-services.mapreduce_shuffle.classpath}, in an
 * isolated class loader, and the tasks get it through {@code mapreduce.application.classpath}). Prints
 * {@code vrdma-it key=value} lines for the test to check (Hadoop logs to the same stdout); our classes are only
 * named, so that the same code runs in both set-ups. In the first, the reducers also run the jar as their Java agent
 * ({@link ReducerWarmUp}).
 */
public final class ShadedPluginJarJob {
  /** Starts each line of this JVM's report on its stdout. */
  static final String MARK = "vrdma-it ";
  private static final String COUNTERS = "io.vrdma.hadoop.VrdmaShuffleCounter";
  private static final String SOURCES_DIR = "vrdma.it.sourcesDir";
  private static final String TRANSPORT_CLASS = "io.vrdma.transport.tcp.TcpTransport";
  private static final String SHADED_EPOLL = "io.vrdma.shaded.io.netty.channel.epoll.Epoll";
  private static final String HADOOP_EPOLL = "io.netty.channel.epoll.Epoll";
  private static final String WARM_UP_CLASS = "io.vrdma.hadoop.ReducerWarmUp";

  private ShadedPluginJarJob() {}

  /** Reducer that records, in the task's JVM, where the consumer plugin's class and our Netty came from. */
  public static final class SourceRecordingReducer extends LongSumReducer<Text> {
    @Override
    protected void setup(Context context) throws IOException {
      Configuration conf = context.getConfiguration();
      String report;
      try {
        // the class the ReduceTask instantiated: it loads it by this name through the job's configuration
        Class<?> plugin = conf.getClassByName(conf.get(MRConfig.SHUFFLE_CONSUMER_PLUGIN));
        report = "plugin=" + location(plugin) + "\n" + nettyReport(plugin.getClassLoader()) + "warmUp="
            + Class.forName(WARM_UP_CLASS, false, plugin.getClassLoader()).getMethod("outcome").invoke(null) + "\n";
      } catch (ReflectiveOperationException e) {
        report = "plugin=missing: " + e;
      }
      Path file = Path.of(conf.get(SOURCES_DIR)).resolve(context.getTaskAttemptID().toString());
      Files.writeString(file, report, StandardCharsets.UTF_8);
    }
  }

  public static void main(String[] args) throws Exception {
    boolean isolated = "aux-classpath".equals(args[0]);
    Path pluginJar = Path.of(args[1]).toAbsolutePath();
    Path dir = Path.of(args[2]);
    Configuration clusterConf = ShuffleCluster.conf(dir);
    if (isolated) {
      clusterConf.set(ShuffleCluster.SHUFFLE_CLASSPATH_KEY, pluginJar.toString());
    }
    MiniMRYarnCluster cluster = ShuffleCluster.start(ShadedPluginJarJob.class.getSimpleName(), clusterConf);
    try {
      Configuration conf = new Configuration(cluster.getConfig());
      if (isolated) {
        // the tasks' class path as conf/mapred-site.xml extends it: Hadoop's entries and the jar
        String hadoops = conf.get(MRJobConfig.MAPREDUCE_APPLICATION_CLASSPATH, "");
        conf.set(MRJobConfig.MAPREDUCE_APPLICATION_CLASSPATH,
            (hadoops.isEmpty() ? MRJobConfig.DEFAULT_MAPREDUCE_APPLICATION_CLASSPATH : hadoops) + "," + pluginJar);
      }
      if (!isolated) {
        // the jar as the reducers' Java agent too (docs: "Reducers that start warm")
        conf.set(MRJobConfig.REDUCE_JAVA_OPTS, "-javaagent:" + pluginJar); // heap: Hadoop sizes it from memory.mb
      }
      Path sources = Files.createDirectories(dir.resolve("sources"));
      conf.set(SOURCES_DIR, sources.toString());
      FileSystem fs = FileSystem.getLocal(conf);
      org.apache.hadoop.fs.Path in = new org.apache.hadoop.fs.Path(dir.resolve("records").toUri());
      org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(dir.resolve("sorted").toUri());
      // one map, one reduce: what is checked is where the classes come from, and each task JVM costs seconds
      Map<String, Long> expected = Jobs.writeRecords(fs, in, 1, 5000, 17);
      Job job = Jobs.sortRecords(conf, in, out, 1);
      job.setReducerClass(SourceRecordingReducer.class);
      boolean succeeded = job.waitForCompletion(false);
      print("succeeded=" + succeeded);
      print("correct=" + (succeeded && expected.equals(Jobs.readOutput(fs, out))));
      Counters counters = job.getCounters();
      for (String name : new String[] {"VRDMA_SHUFFLE_MAPS", "VRDMA_FALLBACK_MAPS", "VRDMA_SHM_BYTES",
          "VRDMA_TCP_BYTES"}) {
        print("counter." + name + "=" + counters.findCounter(COUNTERS, name).getValue());
      }

      AuxiliaryService service = shuffleService(cluster);
      print("handlerClass=" + service.getClass().getName());
      print("handler=" + location(service.getClass()));
      print("handlerLoaderIsolated=" + (service.getClass().getClassLoader() != ClassLoader.getSystemClassLoader()));
      print(nettyReport(service.getClass().getClassLoader()));
      // Hadoop's own Netty in the same JVM, with its own native library
      Class<?> hadoopEpoll = Class.forName(HADOOP_EPOLL);
      print("hadoopNetty=" + location(hadoopEpoll));
      print("hadoopEpoll=" + epoll(hadoopEpoll));
      try (Stream<Path> files = Files.list(sources)) {
        for (Path f : files.sorted().collect(Collectors.toList())) {
          for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            print("reducer." + f.getFileName() + "." + line);
          }
        }
      }
    } finally {
      cluster.stop();
    }
    System.out.flush();
    System.exit(0); // Hadoop leaves non-daemon threads behind
  }

  /** One or more {@code key=value} lines for the test, told apart from Hadoop's log lines. */
  private static void print(String lines) {
    for (String line : lines.split("\n")) {
      System.out.println(MARK + line);
    }
  }

  /** The NodeManager's {@code mapreduce_shuffle} instance, unwrapped from Hadoop's isolating wrapper if any. */
  private static AuxiliaryService shuffleService(MiniMRYarnCluster cluster) throws ReflectiveOperationException {
    AuxServices aux = cluster.getNodeManager(0).getNMContext().getAuxServices();
    Method getServices = AuxServices.class.getDeclaredMethod("getServices");
    getServices.setAccessible(true);
    @SuppressWarnings("unchecked")
    Collection<AuxiliaryService> services = (Collection<AuxiliaryService>) getServices.invoke(aux);
    for (AuxiliaryService service : services) {
      if (service.getClass().getSimpleName().equals("AuxiliaryServiceWithCustomClassLoader")) {
        Field wrapped = service.getClass().getDeclaredField("wrapped");
        wrapped.setAccessible(true);
        service = (AuxiliaryService) wrapped.get(service);
      }
      if (service.getClass().getName().equals(ShuffleCluster.HANDLER_CLASS)) {
        return service;
      }
    }
    throw new IllegalStateException("no " + ShuffleCluster.HANDLER_CLASS + " among " + services);
  }

  /**
   * Through {@code loader} (the one that loaded our service or plugin): the Netty types our TCP transport's
   * fields are declared with, where its relocated Netty came from and whether that Netty's epoll library loaded.
   */
  static String nettyReport(ClassLoader loader) throws ReflectiveOperationException {
    Class<?> transport = Class.forName(TRANSPORT_CLASS, false, loader);
    TreeSet<String> nettyTypes = Arrays.stream(transport.getDeclaredFields()).map(f -> f.getType().getName())
        .filter(n -> n.contains(".netty.")).collect(Collectors.toCollection(TreeSet::new));
    Class<?> shadedEpoll = Class.forName(SHADED_EPOLL, true, loader);
    return "transport=" + location(transport) + "\n"
        + "transportNettyTypes=" + String.join(",", nettyTypes) + "\n"
        + "shadedNetty=" + location(shadedEpoll) + "\n"
        + "shadedEpoll=" + epoll(shadedEpoll) + "\n";
  }

  /** {@code available}, or why not. */
  private static String epoll(Class<?> epoll) throws ReflectiveOperationException {
    if ((Boolean) epoll.getMethod("isAvailable").invoke(null)) {
      return "available";
    }
    return "unavailable: " + epoll.getMethod("unavailabilityCause").invoke(null);
  }

  private static String location(Class<?> c) {
    CodeSource source = c.getProtectionDomain().getCodeSource();
    URL url = source == null ? null : source.getLocation();
    try {
      return url == null ? "none" : Path.of(url.toURI()).toString();
    } catch (java.net.URISyntaxException | IllegalArgumentException e) {
      return url.toString();
    }
  }
}
