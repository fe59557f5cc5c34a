package io.vrdma.spark;

import io.vrdma.block.BlockConf;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.tier.TierAvailability;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.rpc.RpcEndpointRef;
import org.apache.spark.util.RpcUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * One per executor JVM: the transport node, the block server that publishes this executor's map outputs, the
 * block client that reads other executors' outputs, and what the driver told us about peers. Started on first
 * use; when the transport cannot start, {@link #get} keeps answering null and every read goes through Spark.
 */
public final class VrdmaRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(VrdmaRuntime.class);
  private static final Object LOCK = new Object();
  private static VrdmaRuntime instance;
  private static boolean failed;

  private final boolean reportCounters;
  private final String appId;
  private final String executorId;
  private final byte[] secret;
  /** Spark wants encrypted traffic and there is no secret to key ours with: every remote block goes through Spark. */
  private final boolean remoteThroughSpark;
  private final TransportNode node;
  private final BlockServer server;
  private final BlockClient client;
  private final RpcEndpointRef driver;
  private final Map<String, DriverMessages.PeerAddress> peers = new ConcurrentHashMap<>();
  private final Set<String> namespaces = ConcurrentHashMap.newKeySet();
  private final ShuffleCounters counters;
  private final ExecutorShuffleSource source;
  private final SparkEnv env;
  private final RpcEndpointRef countersEndpoint;
  private final ScheduledExecutorService reporter;
  /** Numbers this runtime's reports (under the runtime's lock): later snapshots have larger numbers. */
  private long reportSequence;

  private VrdmaRuntime(SparkEnv env, ShuffleManagerConf pluginConf) throws TransportException {
    SparkConf conf = env.conf();
    this.env = env;
    this.reportCounters = pluginConf.get(ShuffleManagerConf.REPORT_COUNTERS);
    this.appId = conf.getAppId();
    this.executorId = env.executorId();
    boolean authenticate = conf.getBoolean("spark.authenticate", false);
    String key = authenticate ? env.securityManager().getSecretKey() : null;
    this.secret = key == null ? null : key.getBytes(StandardCharsets.UTF_8);
    Map<String, String> sparkSettings = new HashMap<>();
    for (scala.Tuple2<String, String> kv : conf.getAll()) {
      sparkSettings.put(kv._1(), kv._2());
    }
    // Spark's own encryption settings win over the plugin's keys: never weaker than stock Spark
    SparkWireSecurity wire = SparkWireSecurity.fromSparkSettings(sparkSettings, SparkShims.SPARK_4)
        .withSecurityManager(env.securityManager().isEncryptionEnabled(),
            SparkShims.sslRpcEnabled(env.securityManager()));
    if (wire.encryptionRequired() && secret == null) {
      LOG.warn("vRDMA shuffle on executor {}: Spark asks for encrypted shuffle traffic ({}) but spark.authenticate is"
          + " off, so there is no shared secret to key our tcp tier with: every remote block goes through Spark's own"
          + " encrypted transfer", executorId, wire.reasons());
    }
    this.remoteThroughSpark = wire.encryptionRequired() && secret == null;
    Map<String, String> settings = new HashMap<>(wire.apply(pluginConf.layerSettings()));
    String host = settings.get(TransportConf.HOST.name());
    if ((host == null || host.isEmpty()) && env.blockManager() != null && env.blockManager().blockManagerId() != null) {
      // listen and advertise where Spark's own block manager does (SPARK_LOCAL_IP, spark.driver.host, the
      // worker's --host): the host name can resolve to a loopback address (Debian's 127.0.1.1 line in /etc/hosts,
      // a network namespace), which peers on other hosts cannot reach
      settings.put(TransportConf.HOST.name(), env.blockManager().blockManagerId().host());
    }
    if (settings.getOrDefault(BlockConf.SPILL_DIR.name(), "").isEmpty() && env.blockManager() != null) {
      // blocks too large for a pooled buffer are assembled where Spark keeps its own shuffle files (spark.local.dir,
      // the worker's dirs, YARN's container dirs), and go when Spark deletes those dirs
      settings.put(BlockConf.SPILL_DIR.name(), java.util.Arrays.stream(env.blockManager().diskBlockManager().localDirs())
          .map(d -> new java.io.File(d, "vrdma-spill").getPath()).collect(Collectors.joining(",")));
    }
    this.node = TransportNode.start(TransportConf.fromMap(settings));
    BlockConf blockConf = BlockConf.fromMap(settings);
    this.server = new BlockServer(node, blockConf, authenticate);
    this.client = new BlockClient(node, blockConf);
    this.counters = new ShuffleCounters(client.metrics(), server);
    this.source = new ExecutorShuffleSource(counters);
    env.metricsSystem().registerSource(source);
    this.driver = RpcUtils.makeDriverRef(VrdmaDriverEndpoint.NAME, conf, env.rpcEnv());
    this.countersEndpoint = env.rpcEnv().setupEndpoint(ExecutorCountersEndpoint.NAME,
        new ExecutorCountersEndpoint(env.rpcEnv(), this::currentReport, this::peerGone));
    String tiers = node.availability().stream().filter(TierAvailability::available)
        .map(a -> a.tier().name().toLowerCase(java.util.Locale.ROOT)).collect(Collectors.joining(","));
    driver.askSync(new DriverMessages.Register(new DriverMessages.PeerAddress(executorId,
        node.advertisement().host(), node.advertisement().port(), tiers), countersEndpoint), tag(Boolean.class));
    long interval = pluginConf.get(ShuffleManagerConf.REPORT_INTERVAL);
    this.reporter = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "vrdma-shuffle-report");
      t.setDaemon(true);
      return t;
    });
    if (reportCounters) {
      reporter.scheduleWithFixedDelay(this::report, interval, interval, TimeUnit.MILLISECONDS);
    }
    LOG.info("vRDMA shuffle on executor {}: block server at {}:{}; {}{}", executorId, node.advertisement().host(),
        node.advertisement().port(), node.availability().stream().map(TierAvailability::toString)
            .collect(Collectors.joining("; ")),
        wire.encryptionRequired() ? "; " + node.security().startupLine(node.availability()) + ", required by "
            + String.join(", ", wire.reasons()) : "");
  }

  /**
   * This JVM's runtime, started on first call; null when the transport could not start (logged once, and
   * every shuffle read of this executor then goes through Spark's own client).
   */
  public static VrdmaRuntime get() {
    synchronized (LOCK) {
      if (instance == null && !failed) {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
          return null;
        }
        try {
          ShuffleManagerConf pluginConf = SparkVrdmaConf.read(env.conf());
          if (!pluginConf.get(ShuffleManagerConf.ENABLED)) {
            failed = true;
            LOG.info("vRDMA shuffle off on executor {}: {}=false; shuffle blocks go through Spark's own transfer"
                + " service", env.executorId(), ShuffleManagerConf.ENABLED.name());
            return null;
          }
          instance = new VrdmaRuntime(env, pluginConf);
        } catch (TransportException | RuntimeException e) {
          failed = true;
          LOG.warn("vRDMA shuffle off on executor {}: {}; shuffle blocks go through Spark's own transfer service",
              env.executorId(), e.toString());
        }
      }
      return instance;
    }
  }

  /** The runtime if it was started, without starting it. */
  static VrdmaRuntime ifStarted() {
    synchronized (LOCK) {
      return instance;
    }
  }

  /** Stops this JVM's runtime (executor shutdown); a later {@link #get} starts afresh. */
  static void shutdown() {
    synchronized (LOCK) {
      if (instance != null) {
        instance.close();
        instance = null;
      }
      failed = false;
    }
  }

  private static <T> ClassTag<T> tag(Class<T> type) {
    return ClassTag$.MODULE$.apply(type);
  }

  String namespace(int shuffleId) {
    return appId + "/" + shuffleId;
  }

  byte[] secret() {
    return secret;
  }

  BlockClient client() {
    return client;
  }

  /**
   * Publishes a committed map output: reduce partition {@code r} is block {@code shuffle_s_m_r}. Runs on the map
   * task's thread: one entry for the output, nothing per reduce partition (a map with thousands of reducers).
   */
  void publish(int shuffleId, long mapId, File dataFile, long[] partitionLengths) throws TransportException {
    long total = 0;
    for (long length : partitionLengths) {
      total += length;
    }
    if (total == 0) {
      return; // nothing to read: Spark never asks for this output's blocks
    }
    String namespace = namespace(shuffleId);
    boolean created;
    synchronized (namespaces) {
      created = namespaces.add(namespace);
      if (created) {
        server.createNamespace(namespace, secret);
      }
    }
    // empty blocks too: a batch id (a range of reduce partitions) is read as its blocks, empty ones included
    server.publishNumbered(namespace, dataFile.toPath(), "shuffle_" + shuffleId + "_" + mapId + "_", partitionLengths);
    counters.published();
    if (created) {
      report(); // once per shuffle and executor: the driver learns what this executor serves
    }
  }

  /**
   * Publishes a map output that decommissioning migrated onto this executor (its data and index files are in place),
   * as {@link #publish} does a map output written here; counted as {@code migratedMaps} too.
   */
  void publishMigrated(int shuffleId, long mapId, File dataFile, long[] partitionLengths) throws TransportException {
    publish(shuffleId, mapId, dataFile, partitionLengths);
    counters.migrated();
  }

  /** Drops a shuffle's namespace, freeing every registration and arena byte it held, and tells the driver. */
  void unpublish(int shuffleId) {
    String namespace = namespace(shuffleId);
    boolean dropped;
    synchronized (namespaces) {
      dropped = namespaces.remove(namespace);
      if (dropped) {
        server.dropNamespace(namespace);
      }
    }
    if (dropped) {
      report();
    }
  }

  /** Namespaces this executor serves now. */
  Set<String> namespaces() {
    return server.namespaces();
  }

  /** The block server of an executor as the driver knows it, or null when it has none. */
  DriverMessages.PeerAddress peer(String peerExecutorId) {
    if (remoteThroughSpark) {
      return null; // told once at start-up; our client could only be refused
    }
    DriverMessages.PeerAddress known = peers.get(peerExecutorId);
    if (known != null) {
      return known;
    }
    try {
      DriverMessages.PeerAddress address = DriverMessages.fromLookupReply(
          driver.askSync(new DriverMessages.Find(peerExecutorId), tag(String[].class)));
      if (address != null) {
        peers.put(peerExecutorId, address);
      }
      return address;
    } catch (RuntimeException e) {
      LOG.warn("vRDMA shuffle: cannot ask the driver where executor {} serves blocks: {}", peerExecutorId,
          e.toString());
      return null;
    }
  }

  /** Forgets a peer (it failed): its blocks go through Spark until the driver is asked again. */
  /** The driver says an executor was removed: its blocks fail at once, in flight or asked for later. */
  void peerGone(DriverMessages.PeerGone gone) {
    peers.remove(gone.executorId());
    client.peerGone(gone.host(), gone.port(), "executor " + gone.executorId() + " removed: " + gone.reason());
    LOG.info("vRDMA shuffle on executor {}: executor {} at {}:{} was removed ({}); its blocks go to Spark at once",
        executorId, gone.executorId(), gone.host(), gone.port(), gone.reason());
  }

  void forget(String peerExecutorId) {
    peers.remove(peerExecutorId);
  }

  void countBatch() {
    counters.batch();
  }

  void countSparkFallback(int blocks) {
    counters.sparkFallback(blocks);
  }

  /** Records a block our client delivered: over which tier, and how long after the reduce task asked for it. */
  void countBlockRead(long askedAtNanos) {
    Tier tier = client.metrics().deliveringTier();
    if (tier != null) {
      source.blockRead(tier, System.nanoTime() - askedAtNanos);
    }
  }

  /** The counters reported to the driver: see {@link ShuffleCounters}. */
  Map<String, Long> counters() {
    return counters.snapshot();
  }

  /** This executor's counters and namespaces now. */
  private synchronized DriverMessages.Report currentReport() {
    return new DriverMessages.Report(executorId, ++reportSequence, counters.snapshot(),
        Set.copyOf(server.namespaces()));
  }

  /**
   * Sends this executor's counters and namespaces to the driver, one-way: periodically, when the namespaces change,
   * and at shutdown. The driver asks for them when it needs them exact ({@link ExecutorCountersEndpoint}).
   */
  void report() {
    if (!reportCounters) {
      return;
    }
    try {
      driver.send(currentReport());
    } catch (RuntimeException e) {
      LOG.debug("vRDMA shuffle: could not report counters to the driver", e);
    }
  }

  @Override
  public void close() {
    reporter.shutdownNow();
    report(); // the last counts of this executor, kept by the driver after it is gone
    try {
      env.rpcEnv().stop(countersEndpoint);
    } catch (RuntimeException e) {
      LOG.debug("vRDMA shuffle: could not stop the counters endpoint", e);
    }
    env.metricsSystem().removeSource(source);
    server.close();
    client.close();
    node.close();
  }
}
