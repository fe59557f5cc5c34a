package io.vrdma.hadoop;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockSegment;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.io.DataInputByteBuffer;
import org.apache.hadoop.mapred.IndexRecord;
import org.apache.hadoop.mapred.JobConf;
import org.apache.hadoop.mapred.SpillRecord;
import org.apache.hadoop.mapreduce.security.token.JobTokenIdentifier;
import org.apache.hadoop.security.token.Token;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.api.ApplicationInitializationContext;
import org.apache.hadoop.yarn.server.api.ApplicationTerminationContext;
import org.apache.hadoop.yarn.server.api.ContainerTerminationContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vRDMA half of {@link VrdmaShuffleHandler}: serves the map outputs of running jobs through a {@link
 * BlockServer} on the configured port ({@link VrdmaShuffleConf#PORT}).
 *
 * <p>Each job gets a namespace when its first container starts on this node, with the job's shuffle
 * secret (the password of the job token that the MapReduce AM sends to the {@code mapreduce_shuffle}
 * service) as the namespace secret, so a reducer proves it holds the job token before it learns or reads
 * anything. Map outputs are found where Hadoop's ShuffleHandler finds them, {@code <local
 * dir>/usercache/<user>/appcache/<app>/output/<map attempt>/file.out[.index]} (the data file and its index
 * each in any of the local dirs), and published once their index file is complete (its CRC matches).
 *
 * <p>When to look: a map's output is complete when its task has ended, that is when its container ends, so the
 * job's output directories are listed when one of the job's containers ends ({@code stopContainer}) — and never
 * on a timer: a node idles at no cost, and a busy one lists a job's directories once per finished container
 * (entries already published are skipped by name, so only new map outputs are opened). A reducer that asks before
 * the event has arrived asks again (it waits up to {@link VrdmaShuffleConf#PUBLISH_WAIT}).
 *
 * <p>NodeManager recovery: with a recovery path (the NodeManager's {@code yarn.nodemanager.recovery.enabled}),
 * each job's user and secret are kept in a {@link JobSecretStore} there until the application stops. A new
 * publisher on the same path (the restarted NodeManager's) serves the stored jobs again at once — namespace,
 * secret, and every map output on disk, including those that finished while the service was down.
 *
 * <p>The namespace, and the stored secret, are dropped when the application stops.
 */
final class MapOutputPublisher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MapOutputPublisher.class);

  private final Map<ApplicationId, Job> jobs = new ConcurrentHashMap<>();
  private final JobConf jobConf;
  private final List<Path> localDirs;
  private final TransportNode node;
  private final BlockServer server;
  /** Lists directories and publishes, one job's event at a time, off the NodeManager's dispatcher thread. */
  private final ExecutorService publishing;
  /** Null without NodeManager recovery. */
  private final JobSecretStore store;
  /** Map outputs published since the service started. */
  private final java.util.concurrent.atomic.LongAdder publishedOutputs = new java.util.concurrent.atomic.LongAdder();

  /** A running job on this node: where its map outputs are and which of them are published. */
  private record Job(ApplicationId app, String user, String namespace, Set<String> published) {}

  /**
   * @param recoveryDir the service's recovery path when the NodeManager recovers, else null: jobs are then
   *     remembered in memory only
   */
  MapOutputPublisher(Configuration conf, File recoveryDir) throws Exception {
    this.jobConf = new JobConf(conf);
    VrdmaShuffleConf own = VrdmaShuffleConf.from(conf);
    List<Path> dirs = new ArrayList<>();
    for (String d : conf.getTrimmedStrings(YarnConfiguration.NM_LOCAL_DIRS, YarnConfiguration.DEFAULT_NM_LOCAL_DIRS)) {
      dirs.add(Path.of(d.startsWith("file:") ? new java.net.URI(d).getPath() : d));
    }
    this.localDirs = List.copyOf(dirs);
    Map<String, String> settings = HadoopWireSecurity.layerSettings(conf);
    settings.put(TransportConf.PORT.name(), Integer.toString(own.port()));
    this.node = TransportNode.start(TransportConf.fromMap(settings));
    try {
      this.server = new BlockServer(node, BlockConf.fromMap(settings), true);
    } catch (RuntimeException e) {
      node.close();
      throw e;
    }
    this.publishing = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "vrdma-shuffle-publisher");
      t.setDaemon(true);
      return t;
    });
    this.store = recoveryDir == null ? null : openStore(recoveryDir);
    LOG.info("vRDMA shuffle serving map outputs on port {}, tiers {}, local dirs {}, {}", own.port(),
        node.availability(), localDirs, store == null ? "no recovery (jobs kept in memory only)"
            : "job secrets kept for NodeManager recovery in " + new File(recoveryDir, JobSecretStore.DB_NAME));
    if (store != null) {
      recoverJobs();
    }
  }

  private JobSecretStore openStore(File recoveryDir) {
    try {
      return JobSecretStore.open(recoveryDir);
    } catch (IOException e) {
      // serving goes on; only a restart of this NodeManager would send the running jobs' reducers to HTTP
      LOG.warn("NodeManager recovery of the vRDMA shuffle is off: {}", e.getMessage());
      return null;
    }
  }

  /** Serves again the jobs a previous service stored, and publishes every map output they have on disk. */
  private void recoverJobs() {
    Map<ApplicationId, JobSecretStore.StoredJob> stored;
    try {
      stored = store.load((key, why) -> LOG.warn("skipping stored shuffle secret {}: {}", key, why));
    } catch (IOException e) {
      LOG.warn("cannot recover the running jobs' shuffle secrets: {}", e.getMessage());
      return;
    }
    for (Map.Entry<ApplicationId, JobSecretStore.StoredJob> e : stored.entrySet()) {
      Job job = serve(e.getKey(), e.getValue().user(), e.getValue().secret());
      if (job != null) {
        publishing.execute(() -> scan(job));
      }
    }
    if (!stored.isEmpty()) {
      LOG.info("recovered the shuffle secrets of {} running jobs: {}", stored.size(), stored.keySet());
    }
  }

  /** Jobs whose map outputs are served now (one namespace each). */
  int runningJobs() {
    return jobs.size();
  }

  /** Map outputs published since the service started. */
  long publishedOutputs() {
    return publishedOutputs.sum();
  }

  /** The block server: what it located per tier and refused ({@link BlockServer#servingMetrics}), its window. */
  BlockServer server() {
    return server;
  }

  /** The port our block server listens on. */
  int port() {
    return node.advertisement().port();
  }

  /**
   * Stops serving. Stored secrets stay: this is also how the NodeManager stops for a restart, after which the jobs
   * are served again.
   */
  @Override
  public void close() {
    publishing.shutdownNow();
    try {
      publishing.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.close();
    node.close();
    if (store != null) {
      try {
        store.close();
      } catch (IOException e) {
        LOG.warn("cannot close the shuffle secret store: {}", e.getMessage());
      }
    }
  }

  /** A job's first container starts on this node: its map outputs are served from now on. */
  void initializeApplication(ApplicationInitializationContext context) {
    ApplicationId app = context.getApplicationId();
    byte[] secret;
    try {
      secret = jobSecret(context.getApplicationDataForService());
    } catch (IOException e) {
      LOG.warn("application {} sent no readable job token: its map outputs are not served over vRDMA", app, e);
      return;
    }
    Job job = serve(app, context.getUser(), secret);
    if (job != null && store != null) {
      try {
        store.put(app, context.getUser(), secret);
      } catch (IOException e) {
        LOG.warn("{}: after a NodeManager restart, this job's reducers fetch this host over HTTP", e.getMessage());
      }
    }
  }

  /** Creates the job's namespace; null when the job is served already (a second container, or recovered). */
  private synchronized Job serve(ApplicationId app, String user, byte[] secret) {
    if (jobs.containsKey(app)) {
      return null;
    }
    String namespace = BlockIds.namespace(app);
    server.createNamespace(namespace, secret);
    Job job = new Job(app, user, namespace, ConcurrentHashMap.newKeySet());
    jobs.put(app, job);
    LOG.info("serving map outputs of {} (user {})", namespace, user);
    return job;
  }

  /** The job's shuffle secret: the password of the job token the AM serialized as this service's data. */
  static byte[] jobSecret(ByteBuffer serviceData) throws IOException {
    if (serviceData == null || !serviceData.hasRemaining()) {
      throw new IOException("empty service data");
    }
    DataInputByteBuffer in = new DataInputByteBuffer();
    in.reset(serviceData.duplicate());
    Token<JobTokenIdentifier> token = new Token<>();
    token.readFields(in);
    byte[] password = token.getPassword();
    if (password == null || password.length == 0) {
      throw new IOException("job token without a password");
    }
    return password;
  }

  void stopApplication(ApplicationTerminationContext context) {
    ApplicationId app = context.getApplicationId();
    Job job = jobs.remove(app);
    if (job != null) {
      server.dropNamespace(job.namespace());
      LOG.info("dropped {} ({} map outputs served)", job.namespace(), job.published().size());
    }
    if (store != null) {
      try {
        store.remove(app);
      } catch (IOException e) {
        LOG.warn("{} (a restarted service would serve the stopped job's leftovers until its dirs are gone)",
            e.getMessage());
      }
    }
  }

  /** One of the job's containers ended: a map task's output, if it ran one, is complete now. */
  void stopContainer(ContainerTerminationContext context) {
    ApplicationId app = context.getContainerId().getApplicationAttemptId().getApplicationId();
    Job job = jobs.get(app);
    if (job != null && !publishing.isShutdown()) {
      try {
        publishing.execute(() -> scan(job));
      } catch (java.util.concurrent.RejectedExecutionException closing) {
        // the service is stopping: nothing to publish for
      }
    }
  }

  /**
   * Publishes every complete map output of a job that is not published yet. A map task's data file and its
   * index file are placed independently (Hadoop's LocalDirAllocator picks a local dir for each), so on a node
   * with several local dirs the two are often in different ones: each is looked for in every dir, as Hadoop's
   * ShuffleHandler does.
   */
  private void scan(Job job) {
    Map<String, Path> data = new HashMap<>();
    Map<String, Path> index = new HashMap<>();
    for (Path dir : localDirs) {
      Path output = dir.resolve("usercache").resolve(job.user()).resolve("appcache").resolve(job.app().toString())
          .resolve(LocalMapOutputs.OUTPUT_DIR);
      if (!Files.isDirectory(output)) {
        continue;
      }
      try (DirectoryStream<Path> attempts = Files.newDirectoryStream(output)) {
        for (Path attempt : attempts) {
          String mapAttempt = attempt.getFileName().toString();
          if (job.published().contains(mapAttempt)) {
            continue;
          }
          Path d = attempt.resolve(LocalMapOutputs.MAP_OUTPUT);
          Path i = attempt.resolve(LocalMapOutputs.MAP_OUTPUT_INDEX);
          if (Files.isRegularFile(d)) {
            data.putIfAbsent(mapAttempt, d);
          }
          if (Files.isRegularFile(i)) {
            index.putIfAbsent(mapAttempt, i);
          }
        }
      } catch (IOException | RuntimeException e) {
        LOG.warn("cannot search {} for map outputs", output, e);
      }
    }
    for (Map.Entry<String, Path> e : index.entrySet()) {
      Path d = data.get(e.getKey());
      if (d != null && jobs.containsKey(job.app())) {
        publish(job, e.getKey(), d, e.getValue());
      }
    }
  }

  private void publish(Job job, String mapAttempt, Path data, Path index) {
    SpillRecord records;
    try {
      // the map writes the index last; its CRC tells a complete index from one being written
      records = new SpillRecord(new org.apache.hadoop.fs.Path(index.toUri()), jobConf);
    } catch (IOException e) {
      LOG.debug("index of {} not complete yet: {}", mapAttempt, e.toString());
      return;
    }
    List<BlockSegment> dataBlocks = new ArrayList<>(records.size());
    List<BlockSegment> indexBlocks = new ArrayList<>(records.size());
    for (int p = 0; p < records.size(); p++) {
      IndexRecord r = records.getIndex(p);
      dataBlocks.add(new BlockSegment(BlockIds.data(mapAttempt, p), r.startOffset, r.partLength));
      indexBlocks.add(new BlockSegment(BlockIds.index(mapAttempt, p), (long) p * BlockIds.INDEX_RECORD_BYTES,
          BlockIds.INDEX_RECORD_BYTES));
    }
    try {
      // bytes first: a reducer that finds the index record finds the bytes too
      server.publish(job.namespace(), data, dataBlocks);
      server.publish(job.namespace(), index, indexBlocks);
      job.published().add(mapAttempt);
      publishedOutputs.increment();
      LOG.debug("published {} partitions of {}", records.size(), mapAttempt);
    } catch (TransportException | RuntimeException e) {
      LOG.warn("cannot publish the map output of {} in {}", mapAttempt, job.namespace(), e);
      // a failed half-publication is not retried by name: drop nothing, mark it so it is not re-published
      job.published().add(mapAttempt);
    }
  }
}
