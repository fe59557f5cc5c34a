package io.vrdma.bench.hadoop;

import io.vrdma.bench.cli.BadFlag;
import io.vrdma.bench.cli.Cli;
import io.vrdma.bench.cli.Flags;
import io.vrdma.hadoop.VrdmaShuffle;
import io.vrdma.hadoop.VrdmaShuffleConf;
import io.vrdma.hadoop.VrdmaShuffleCounter;
import io.vrdma.hadoop.VrdmaShuffleHandler;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.examples.terasort.TeraGen;
import org.apache.hadoop.examples.terasort.TeraSort;
import org.apache.hadoop.examples.terasort.TeraValidate;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.mapreduce.Cluster;
import org.apache.hadoop.mapreduce.Counters;
import org.apache.hadoop.mapreduce.JobID;
import org.apache.hadoop.mapreduce.JobStatus;
import org.apache.hadoop.mapreduce.MRConfig;
import org.apache.hadoop.mapreduce.MRJobConfig;
import org.apache.hadoop.mapreduce.TaskType;
import org.apache.hadoop.mapreduce.jobhistory.JobHistoryParser;
import org.apache.hadoop.mapreduce.jobhistory.JobHistoryParser.JobInfo;
import org.apache.hadoop.mapreduce.jobhistory.JobHistoryParser.TaskAttemptInfo;
import org.apache.hadoop.mapreduce.jobhistory.JobHistoryParser.TaskInfo;
import org.apache.hadoop.mapreduce.v2.MiniMRYarnCluster;
import org.apache.hadoop.util.Tool;
import org.apache.hadoop.util.ToolRunner;
import org.apache.hadoop.yarn.conf.YarnConfiguration;

/**
 * TeraGen once, then TeraSort with Hadoop's shuffle ({@code stock}) and with ours ({@code vrdma}) in
 * interleaved rounds, each output checked by TeraValidate, on one MiniMRYarnCluster (one NodeManager) whose
 * {@code mapreduce_shuffle} service is our {@link VrdmaShuffleHandler}. That handler is Hadoop's
 * ShuffleHandler serving HTTP unchanged, plus our publisher, which publishes only what our fetcher asks for:
 * a stock job (consumer plugin {@code org.apache.hadoop.mapreduce.task.reduce.Shuffle}) runs exactly
 * Hadoop's HTTP shuffle; a vrdma job sets {@code mapreduce.job.reduce.shuffle.consumer.plugin.class} to
 * {@link VrdmaShuffle}.
 *
 * <p>Times per TeraSort: the job's wall clock (submit to completion, as seen by the client), and its shuffle
 * phase: from the first reducer's shuffle start to the last one's shuffleFinishTime in the job history. The
 * start is when the consumer plugin began (every job runs its plugin inside {@link TimedShuffle}, which
 * records it), not the attempt's start in the history, which is its container's launch and so would count
 * the reduce JVM's start-up as shuffle. Reducers start only once every map is done (slow start 1.0), so the
 * span is the fetch-and-merge of the map outputs, not waiting for maps.
 */
public final class TeraSortBenchmark {
  static final String STOCK = "stock";
  static final String VRDMA = "vrdma";
  /** Our plugin with host-local reads off: every map output over the tiers (shm here, one host). */
  static final String VRDMA_TIERS = "vrdma-tiers";
  /** vrdma-tiers with the reducers started warm (the plugin jar as their Java agent: {@code --warm-up-agent}). */
  static final String VRDMA_TIERS_WARM = "vrdma-tiers-warm";
  static final List<String> CONFIGS = List.of(STOCK, VRDMA, VRDMA_TIERS, VRDMA_TIERS_WARM);
  static final List<String> DEFAULT_CONFIGS = List.of(STOCK, VRDMA, VRDMA_TIERS);
  static final String STOCK_PLUGIN = "org.apache.hadoop.mapreduce.task.reduce.Shuffle";
  /** vrdma (host-local reads where they apply) against stock's shuffle span. */
  static final double TARGET = 0.85;
  /** vrdma-tiers (every map output over the tiers, as between hosts) against stock's shuffle span: issue 17. */
  static final double TIERS_TARGET = 1.0;
  private static final String SHUFFLE_CLASS_KEY = "yarn.nodemanager.aux-services.mapreduce_shuffle.class";

  /** Options. */
  record Options(long rows, int maps, int reducers, int rounds, List<String> configs, Path warmUpAgent, Path out) {}

  /** One TeraSort run. */
  record Run(String config, int round, double jobSeconds, double shuffleSeconds, double launchShuffleSeconds,
      double reducerShuffleSeconds,
      long localMaps, long tierMaps, long fallbackMaps, String checksum) {}

  private TeraSortBenchmark() {}

  static final String USAGE = String.join("\n",
      "usage: TeraSortBenchmark [--rows N] [--maps N] [--reducers N] [--rounds N] [--configs LIST]",
      "                         [--warm-up-agent JAR] [--out DIR]",
      "  --rows      TeraGen rows of 100 bytes (default 2000000 = 200 MB)",
      "  --maps      TeraGen's map tasks, so its output files and TeraSort's map tasks (default 2, Hadoop's)",
      "  --reducers  TeraSort reduce tasks (default 2)",
      "  --rounds    TeraSort rounds per config, interleaved (default 3)",
      "  --configs   of stock, vrdma (our plugin as installed: host-local reads on), vrdma-tiers (host-local reads",
      "              off: over the tiers), vrdma-tiers-warm (the same, reducers with the warm-up agent), comma",
      "              separated (default stock,vrdma,vrdma-tiers)",
      "  --warm-up-agent  the plugin jar (hadoop-shuffle/target/vrdma-hadoop-shuffle-plugin.jar), which",
      "              vrdma-tiers-warm's reducers run with -javaagent:JAR in mapreduce.reduce.java.opts (ReducerWarmUp)",
      "  --out       directory for terasort-benchmark.md and the cluster's work files (default"
          + " target/terasort-benchmark)",
      "Needs JAVA_HOME (the NodeManager launches containers with $JAVA_HOME/bin/java).");

  /** The options, or null when help was asked for. */
  static Options parse(String[] args) {
    long rows = 2_000_000;
    int maps = 2;
    int reducers = 2;
    int rounds = 3;
    List<String> configs = DEFAULT_CONFIGS;
    Path warmUpAgent = null;
    Path out = Path.of("target", "terasort-benchmark");
    Flags f = new Flags(args);
    while (f.next()) {
      switch (f.flag()) {
        case "--rows" -> rows = f.positiveLong();
        case "--maps" -> maps = f.positiveInt();
        case "--reducers" -> reducers = f.positiveInt();
        case "--rounds" -> rounds = f.positiveInt();
        case "--configs" -> configs = f.names(CONFIGS);
        case "--warm-up-agent" -> warmUpAgent = f.path();
        case "--out" -> out = f.path();
        default -> throw f.unknown();
      }
    }
    if (!f.helpRequested() && configs.contains(VRDMA_TIERS_WARM) && warmUpAgent == null) {
      throw new BadFlag(VRDMA_TIERS_WARM + " needs --warm-up-agent (the plugin jar)");
    }
    return f.helpRequested() ? null : new Options(rows, maps, reducers, rounds, configs, warmUpAgent, out);
  }

  public static void main(String[] args) {
    // Cli.main ends with System.exit: the minicluster leaves non-daemon threads behind
    Cli.main(args, USAGE, TeraSortBenchmark::parse, o -> {
      try {
        run(o);
      } catch (IllegalArgumentException e) {
        // what run finds unusable before it starts (JAVA_HOME unset) exits 2, as a bad flag does
        throw new BadFlag(e.getMessage());
      }
      return Cli.OK;
    });
  }

  /** MiniMRYarnCluster's serviceInit sets Hadoop's ShuffleHandler; this keeps ours, as a yarn-site.xml does. */
  static final class ShuffleClassKeepingConf extends YarnConfiguration {
    @Override
    public void set(String name, String value, String source) {
      super.set(name, SHUFFLE_CLASS_KEY.equals(name) ? VrdmaShuffleHandler.class.getName() : value, source);
    }
  }

  /** Runs the benchmark, writes and returns the markdown report. */
  static String run(Options o) throws Exception {
    if (System.getenv("JAVA_HOME") == null) {
      throw new IllegalArgumentException("JAVA_HOME is not set (the NodeManager launches containers with it)");
    }
    Files.createDirectories(o.out());
    Path work = Files.createTempDirectory(o.out().toAbsolutePath(), "work-");
    long dataBytes = o.rows() * 100;
    Configuration conf = new ShuffleClassKeepingConf();
    conf.set(SHUFFLE_CLASS_KEY, VrdmaShuffleHandler.class.getName());
    conf.setInt(VrdmaShuffleConf.PORT.name(), freePort());
    conf.set("vrdma.transport.shm.arenaPath", work.resolve("arena").toString());
    // one job's map outputs at a time, with room to spare
    conf.set("vrdma.transport.shm.arenaBytes", Math.max(64, dataBytes * 3 / 2 / (1 << 20) + 16) + "m");
    conf.setLong("yarn.nodemanager.sleep-delay-before-sigkill.ms", 100);
    conf.setLong("yarn.nodemanager.process-kill-wait.ms", 100);
    conf.setInt(MRJobConfig.MAP_MEMORY_MB, 768);
    conf.setInt(MRJobConfig.REDUCE_MEMORY_MB, 1024);
    // as large as a task, so that TeraGen and TeraValidate can run as uber jobs inside the AM (TeraSort never does)
    conf.setInt("yarn.app.mapreduce.am.resource.mb", 1024);
    conf.setFloat(MRJobConfig.COMPLETED_MAPS_FOR_REDUCE_SLOWSTART, 1.0f);
    conf.setInt(MRJobConfig.NUM_REDUCES, o.reducers());
    // HDFS, as on a real cluster: with the local file system as the default, a task's working directory on it
    // becomes the submitter's, and TeraSort's maps cannot find their localized _partition.lst
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, work.resolve("dfs").toString());
    MiniDFSCluster dfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    conf.set(FileSystem.FS_DEFAULT_NAME_KEY, dfs.getFileSystem().getUri().toString());
    MiniMRYarnCluster cluster = new MiniMRYarnCluster(TeraSortBenchmark.class.getSimpleName(), 1);
    try {
      cluster.init(conf);
      cluster.start();
      Configuration base = new Configuration(cluster.getConfig());
      FileSystem fs = FileSystem.get(base);
      org.apache.hadoop.fs.Path in = new org.apache.hadoop.fs.Path("/terasort/teragen");
      long t0 = System.nanoTime();
      Configuration gen = uber(base);
      // TeraGen writes one file per map task; each becomes (at least) one split, so one map task, of TeraSort
      gen.setInt(MRJobConfig.NUM_MAPS, o.maps());
      gen.setInt(MRJobConfig.JOB_UBERTASK_MAXMAPS, Math.max(9, o.maps()));
      tool(gen, new TeraGen(), Long.toString(o.rows()), in.toString());
      System.out.printf(Locale.ROOT, "teragen: %d rows in %.1f s%n", o.rows(), (System.nanoTime() - t0) / 1e9);

      List<Run> runs = new ArrayList<>();
      for (int round = 1; round <= o.rounds(); round++) {
        for (String config : o.configs()) {
          Configuration jc = new Configuration(base);
          jc.set(MRConfig.SHUFFLE_CONSUMER_PLUGIN, TimedShuffle.class.getName());
          jc.set(TimedShuffle.DELEGATE, config.equals(STOCK) ? STOCK_PLUGIN : VrdmaShuffle.class.getName());
          jc.setBoolean(VrdmaShuffleConf.HOST_LOCAL.name(), config.equals(VRDMA));
          if (config.equals(VRDMA_TIERS_WARM)) {
            String opts = jc.get(MRJobConfig.REDUCE_JAVA_OPTS, jc.get("mapred.child.java.opts", ""));
            jc.set(MRJobConfig.REDUCE_JAVA_OPTS, (opts + " -javaagent:" + o.warmUpAgent().toAbsolutePath()).trim());
          }
          org.apache.hadoop.fs.Path sorted = new org.apache.hadoop.fs.Path("/terasort/sorted-" + config + "-" + round);
          org.apache.hadoop.fs.Path validated = new org.apache.hadoop.fs.Path("/terasort/validate-" + config + "-" + round);
          Set<JobID> before = jobIds(jc);
          long s = System.nanoTime();
          tool(jc, new TeraSort(), in.toString(), sorted.toString());
          double jobSeconds = (System.nanoTime() - s) / 1e9;
          Set<JobID> after = jobIds(jc);
          after.removeAll(before);
          if (after.size() != 1) {
            throw new IllegalStateException("cannot tell the TeraSort job among " + after);
          }
          JobInfo info = history(fs, base, after.iterator().next());
          double shuffle = shuffleSeconds(info, true);
          double launchShuffle = shuffleSeconds(info, false);
          double reducerShuffle = reducerShuffleSeconds(info);
          Counters counters = info.getTotalCounters();
          long local = counters.findCounter(VrdmaShuffleCounter.VRDMA_LOCAL_MAPS).getValue();
          long tiers = counters.findCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS).getValue();
          long fallback = counters.findCounter(VrdmaShuffleCounter.VRDMA_FALLBACK_MAPS).getValue();
          tool(uber(jc), new TeraValidate(), sorted.toString(), validated.toString());
          String checksum = validate(fs, validated);
          Run r = new Run(config, round, jobSeconds, shuffle, launchShuffle, reducerShuffle, local, tiers, fallback,
              checksum);
          runs.add(r);
          System.out.printf(Locale.ROOT, "round %d %s: job %.2f s, shuffle %.2f s (%.2f s from the reducers' launch,"
              + " %.2f s summed over the reducers), maps read host-local %d, over our tiers %d, fallen back %d, validated (checksum %s)%n", round, config,
              jobSeconds, shuffle, launchShuffle, reducerShuffle, local, tiers, fallback, checksum);
          fs.delete(sorted, true);
          fs.delete(validated, true);
        }
      }
      Set<String> sums = new HashSet<>();
      runs.forEach(r -> sums.add(r.checksum()));
      if (sums.size() != 1) {
        throw new IllegalStateException("TeraValidate checksums differ between runs: " + sums);
      }
      String md = report(o, runs);
      Files.writeString(o.out().resolve("terasort-benchmark.md"), md);
      System.out.print(md);
      return md;
    } finally {
      cluster.stop();
      dfs.shutdown();
      deleteTree(work);
    }
  }

  /** TeraGen and TeraValidate are not timed: run in the AM's JVM, without a container launch per task. */
  private static Configuration uber(Configuration conf) {
    Configuration c = new Configuration(conf);
    c.setBoolean(MRJobConfig.JOB_UBERTASK_ENABLE, true);
    return c;
  }

  private static void tool(Configuration conf, Tool tool, String... args) throws Exception {
    int rc = ToolRunner.run(new Configuration(conf), tool, args);
    if (rc != 0) {
      throw new IllegalStateException(tool.getClass().getSimpleName() + " failed (exit " + rc + ")");
    }
  }

  private static Set<JobID> jobIds(Configuration conf) throws IOException, InterruptedException {
    Cluster c = new Cluster(conf);
    try {
      Set<JobID> ids = new HashSet<>();
      for (JobStatus s : c.getAllJobStatuses()) {
        ids.add(s.getJobID());
      }
      return ids;
    } finally {
      c.close();
    }
  }

  /** The job's history file, wherever the AM or the history server has put it by now (polled up to 60 s). */
  private static JobInfo history(FileSystem fs, Configuration conf, JobID id) throws Exception {
    List<org.apache.hadoop.fs.Path> roots = new ArrayList<>();
    for (String key : new String[] {MRJobConfig.MR_AM_STAGING_DIR, "mapreduce.jobhistory.intermediate-done-dir",
        "mapreduce.jobhistory.done-dir"}) {
      String v = conf.get(key);
      if (v != null) {
        roots.add(new org.apache.hadoop.fs.Path(v));
      }
    }
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      for (org.apache.hadoop.fs.Path root : roots) {
        FileSystem rfs = root.getFileSystem(conf);
        if (!rfs.exists(root)) {
          continue;
        }
        RemoteIterator<LocatedFileStatus> it = rfs.listFiles(root, true);
        while (it.hasNext()) {
          FileStatus f = it.next();
          String name = f.getPath().getName();
          if (name.startsWith(id.toString()) && name.endsWith(".jhist")) {
            try {
              JobInfo info = new JobHistoryParser(rfs, f.getPath()).parse();
              if (info.getFinishTime() > 0) {
                return info;
              }
            } catch (IOException e) {
              // being moved: look again
            }
          }
        }
      }
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("no complete history file for " + id + " under " + roots);
      }
      Thread.sleep(200);
    }
  }

  /**
   * The shuffle span of the job's successful reduce attempts: from the first one's shuffle start to the last
   * one's shuffle finish. The start is the plugin's own ({@link TimedShuffle.Counter#PLUGIN_START_MS}) if
   * {@code fromPlugin}, else the attempt's start in the history, which is its container's launch.
   */
  /**
   * Each reducer's own shuffle (from its consumer plugin's start to its shuffle finish), summed over the reducers:
   * the fetch-and-merge work itself, without the skew of the reducers' launches that the span includes.
   */
  static double reducerShuffleSeconds(JobInfo info) {
    long sum = 0;
    for (TaskInfo t : info.getAllTasks().values()) {
      if (t.getTaskType() != TaskType.REDUCE || t.getSuccessfulAttemptId() == null) {
        continue;
      }
      TaskAttemptInfo a = t.getAllTaskAttempts().get(t.getSuccessfulAttemptId());
      Counters c = a.getCounters();
      long begin = c == null ? 0 : c.findCounter(TimedShuffle.Counter.PLUGIN_START_MS).getValue();
      if (begin <= 0 || a.getShuffleFinishTime() < begin) {
        throw new IllegalStateException("reduce attempt " + a.getAttemptId() + " has no shuffle time");
      }
      sum += a.getShuffleFinishTime() - begin;
    }
    return sum / 1e3;
  }

  static double shuffleSeconds(JobInfo info, boolean fromPlugin) {
    long start = Long.MAX_VALUE;
    long end = Long.MIN_VALUE;
    for (TaskInfo t : info.getAllTasks().values()) {
      if (t.getTaskType() != TaskType.REDUCE || t.getSuccessfulAttemptId() == null) {
        continue;
      }
      TaskAttemptInfo a = t.getAllTaskAttempts().get(t.getSuccessfulAttemptId());
      long begin = a.getStartTime();
      if (fromPlugin) {
        Counters c = a.getCounters();
        begin = c == null ? 0 : c.findCounter(TimedShuffle.Counter.PLUGIN_START_MS).getValue();
        if (begin <= 0) {
          throw new IllegalStateException("reduce attempt " + a.getAttemptId() + " has no "
              + TimedShuffle.Counter.PLUGIN_START_MS + " counter");
        }
      }
      start = Math.min(start, begin);
      end = Math.max(end, a.getShuffleFinishTime());
    }
    if (start == Long.MAX_VALUE || end < start) {
      throw new IllegalStateException("no shuffle times in the job history");
    }
    return (end - start) / 1e3;
  }

  /** TeraValidate's output: its checksum; any error line fails. */
  private static String validate(FileSystem fs, org.apache.hadoop.fs.Path dir) throws IOException {
    String checksum = null;
    List<String> errors = new ArrayList<>();
    for (FileStatus f : fs.listStatus(dir, p -> p.getName().startsWith("part-"))) {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(f.getPath()), StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          if (line.startsWith("checksum")) {
            checksum = line.substring("checksum".length()).trim();
          } else if (!line.isBlank()) {
            errors.add(line);
          }
        }
      }
    }
    if (!errors.isEmpty() || checksum == null) {
      throw new IllegalStateException("TeraValidate failed: " + (errors.isEmpty() ? "no checksum" : errors.get(0)));
    }
    return checksum;
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(null);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  static String report(Options o, List<Run> runs) {
    Map<String, List<Run>> by = new LinkedHashMap<>();
    for (Run r : runs) {
      by.computeIfAbsent(r.config(), k -> new ArrayList<>()).add(r);
    }
    Double stockShuffle = by.containsKey(STOCK)
        ? median(by.get(STOCK).stream().map(Run::shuffleSeconds).toList()) : null;
    Double stockReducerShuffle = by.containsKey(STOCK)
        ? median(by.get(STOCK).stream().map(Run::reducerShuffleSeconds).toList()) : null;
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "TeraSort of %d rows (%.1f MB), TeraGen maps %d, %d reducers, %d round(s) per config;"
        + " median of the rounds%s.%n%n", o.rows(), o.rows() * 100 / 1e6, o.maps(), o.reducers(), o.rounds(),
        o.configs().contains(VRDMA_TIERS_WARM) ? "; " + VRDMA_TIERS_WARM + "'s reducers with the warm-up agent"
            + " (-javaagent:" + o.warmUpAgent().getFileName() + ")" : ""));
    sb.append("| config | job s | shuffle s | shuffle s from launch | ratio vs stock | reducers' shuffle s (sum)"
        + " | ratio vs stock | target | met? |\n");
    sb.append("|---|---:|---:|---:|---:|---:|---:|---|---|\n");
    for (Map.Entry<String, List<Run>> e : by.entrySet()) {
      double job = median(e.getValue().stream().map(Run::jobSeconds).toList());
      double shuffle = median(e.getValue().stream().map(Run::shuffleSeconds).toList());
      double launchShuffle = median(e.getValue().stream().map(Run::launchShuffleSeconds).toList());
      double reducerShuffle = median(e.getValue().stream().map(Run::reducerShuffleSeconds).toList());
      String reducerRatio = stockReducerShuffle == null ? "-"
          : String.format(Locale.ROOT, "%.2f", reducerShuffle / stockReducerShuffle);
      boolean stock = e.getKey().equals(STOCK);
      String ratio = stockShuffle == null ? "-" : String.format(Locale.ROOT, "%.2f", shuffle / stockShuffle);
      // vrdma: the span (its gain is the no-transfer path); vrdma-tiers: the reducers' own shuffle, as issue 17 asks
      boolean tiers = !e.getKey().equals(VRDMA);
      double factor = tiers ? TIERS_TARGET : TARGET;
      String target = stock ? "(baseline)" : String.format(Locale.ROOT, "<= %.2f x stock %s", factor,
          tiers ? "reducers' shuffle" : "shuffle");
      Double reference = tiers ? stockReducerShuffle : stockShuffle;
      double measured = tiers ? reducerShuffle : shuffle;
      String met = stock || reference == null ? "-" : measured <= factor * reference ? "yes" : "no";
      sb.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f | %s | %.2f | %s | %s | %s |%n", e.getKey(), job,
          shuffle, launchShuffle, ratio, reducerShuffle, reducerRatio, target, met));
    }
    long fellBack = runs.stream().filter(r -> !r.config().equals(STOCK)).mapToLong(Run::fallbackMaps).sum();
    if (fellBack > 0) {
      sb.append(String.format(Locale.ROOT, "%nWARNING: %d map outputs of our runs fell back to Hadoop's HTTP"
          + " fetcher: those runs timed the fallback, not our path.%n", fellBack));
    }
    sb.append("\nshuffle s: from the first reducer's shuffle start (its consumer plugin entered) to the last"
        + " one's shuffle finish; from launch: the same span from the first reducer's container launch; reducers'"
        + " shuffle: each reducer's own shuffle (plugin start to shuffle finish), summed.\n");
    sb.append("\nPer round (job s / shuffle s / from launch / reducers' sum; map outputs read host-local / over our"
        + " tiers / fallen back to HTTP):\n\n");
    for (Run r : runs) {
      sb.append(String.format(Locale.ROOT, "- round %d %s: %.2f / %.2f / %.2f / %.2f; %d / %d / %d%n", r.round(),
          r.config(), r.jobSeconds(), r.shuffleSeconds(), r.launchShuffleSeconds(), r.reducerShuffleSeconds(),
          r.localMaps(), r.tierMaps(), r.fallbackMaps()));
    }
    return sb.toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void deleteTree(Path p) {
    try (var walk = Files.walk(p)) {
      walk.sorted((a, b) -> b.compareTo(a)).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // best effort
    }
  }
}
