package io.vrdma.hadoop;

import io.vrdma.block.BlockConf;
import io.vrdma.block.client.BlockClient;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.mapred.IndexRecord;
import org.apache.hadoop.mapred.JobConf;
import org.apache.hadoop.mapred.MapOutputFile;
import org.apache.hadoop.mapred.MapTaskCompletionEventsUpdate;
import org.apache.hadoop.mapred.RawKeyValueIterator;
import org.apache.hadoop.mapred.Reporter;
import org.apache.hadoop.mapred.ShuffleConsumerPlugin;
import org.apache.hadoop.mapred.Task;
import org.apache.hadoop.mapred.TaskCompletionEvent;
import org.apache.hadoop.mapred.TaskStatus;
import org.apache.hadoop.mapred.TaskUmbilicalProtocol;
import org.apache.hadoop.mapreduce.MRJobConfig;
import org.apache.hadoop.mapreduce.TaskAttemptID;
import org.apache.hadoop.mapreduce.task.reduce.ExceptionReporter;
import org.apache.hadoop.mapreduce.task.reduce.Fetcher;
import org.apache.hadoop.mapreduce.task.reduce.MapHost;
import org.apache.hadoop.mapreduce.task.reduce.MapOutput;
import org.apache.hadoop.mapreduce.task.reduce.MergeManager;
import org.apache.hadoop.mapreduce.task.reduce.MergeManagerImpl;
import org.apache.hadoop.mapreduce.task.reduce.ShuffleClientMetrics;
import org.apache.hadoop.mapreduce.task.reduce.ShuffleSchedulerImpl;
import org.apache.hadoop.util.Progress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reduce-side plugin ({@code mapreduce.job.reduce.shuffle.consumer.plugin.class}): Hadoop's shuffle
 * with the copy going over our tiers. Map completions come from the umbilical into Hadoop's own {@link
 * ShuffleSchedulerImpl}; {@link VrdmaFetcher} threads copy each host's maps through the block client into
 * Hadoop's {@link MergeManagerImpl}, so spills, combiners, counters and the final merge are Hadoop's; a host
 * whose service is not there is fetched with the stock HTTP fetcher.
 *
 * <p>Under the LocalJobRunner there are no completion events and no NodeManager: the plugin gets the map
 * outputs as local files ({@link ShuffleConsumerPlugin.Context#getLocalMapFiles()}) and reads them straight
 * into the merge manager, as host-local reads do elsewhere.
 */
public class VrdmaShuffle<K, V> implements ShuffleConsumerPlugin<K, V>, ExceptionReporter {
  private static final Logger LOG = LoggerFactory.getLogger(VrdmaShuffle.class);
  private static final int PROGRESS_FREQUENCY_MS = 2000;
  private static final int MAX_EVENTS_TO_FETCH = 10_000;
  private static final int MIN_EVENTS_TO_FETCH = 100;
  private static final int MAX_RPC_OUTSTANDING_EVENTS = 3_000_000;
  private static final MapHost LOCAL_HOST = new MapHost("local", "local");

  private Context<K, V> context;
  private TaskAttemptID reduceId;
  private JobConf jobConf;
  private Reporter reporter;
  private ShuffleClientMetrics metrics;
  private TaskStatus taskStatus;
  private Task reduceTask;
  private Progress copyPhase;
  private ShuffleSchedulerImpl<K, V> scheduler;
  private MergeManager<K, V> merger;
  private TransportNode node;
  private BlockClient client;
  private Exception clientFailure;
  /** Completes when the client's start ended (started or failed); null until it begins. */
  private CompletableFuture<Void> clientStart;
  private boolean closed;
  private Throwable throwable;
  private String throwingThreadName;

  @Override
  public void init(Context<K, V> context) {
    this.context = context;
    this.reduceId = context.getReduceId();
    this.jobConf = context.getJobConf();
    this.reporter = context.getReporter();
    this.metrics = ShuffleClientMetrics.create(reduceId, jobConf);
    this.taskStatus = context.getStatus();
    this.reduceTask = context.getReduceTask();
    this.copyPhase = context.getCopyPhase();
    this.scheduler = new ShuffleSchedulerImpl<>(jobConf, taskStatus, reduceId, this, copyPhase,
        context.getShuffledMapsCounter(), context.getReduceShuffleBytes(), context.getFailedShuffleCounter());
    this.merger = new MergeManagerImpl<>(reduceId, jobConf, context.getLocalFS(), context.getLocalDirAllocator(),
        reporter, context.getCodec(), context.getCombinerClass(), context.getCombineCollector(),
        context.getSpilledRecordsCounter(), context.getReduceCombineInputCounter(),
        context.getMergedMapOutputsCounter(), this, context.getMergePhase(), context.getMapOutputFile());
  }

  @Override
  public RawKeyValueIterator run() throws IOException, InterruptedException {
    if (context.getLocalMapFiles() != null) {
      copyLocalMapFiles(context.getLocalMapFiles());
    } else {
      shuffleFromHosts();
    }
    scheduler.close();
    copyPhase.complete();
    taskStatus.setPhase(TaskStatus.Phase.SORT);
    reduceTask.statusUpdate(context.getUmbilical());
    RawKeyValueIterator kvIter;
    try {
      kvIter = merger.close();
    } catch (Throwable e) {
      throw new IOException("error in the final merge of " + reduceId, e);
    }
    checkFailure();
    return kvIter;
  }

  private void shuffleFromHosts() throws IOException, InterruptedException {
    boolean encrypted = jobConf.getBoolean(MRJobConfig.MR_ENCRYPTED_INTERMEDIATE_DATA, false);
    VrdmaShuffleConf own = VrdmaShuffleConf.from(jobConf);
    if (encrypted) {
      LOG.info("intermediate data is encrypted: map outputs come over the HTTP shuffle");
    }
    int eventsPerReducer = Math.max(MIN_EVENTS_TO_FETCH, MAX_RPC_OUTSTANDING_EVENTS / jobConf.getNumReduceTasks());
    EventFetcher events = new EventFetcher(Math.min(MAX_EVENTS_TO_FETCH, eventsPerReducer));
    events.start();
    int numFetchers = jobConf.getInt(MRJobConfig.SHUFFLE_PARALLEL_COPIES, 5);
    List<Fetcher<K, V>> fetchers = new ArrayList<>(numFetchers);
    Map<String, Boolean> stockHosts = VrdmaFetcher.newStockHosts();
    VrdmaFetcher.HostLocal hostLocal = VrdmaFetcher.HostLocal.of(own, jobConf);
    if (!encrypted && !hostLocal.enabled()) {
      startClient(); // every map output comes over the tiers: start while the first events come
    }
    for (int i = 0; i < numFetchers; i++) {
      Fetcher<K, V> f = encrypted
          ? new Fetcher<>(jobConf, reduceId, scheduler, merger, reporter, metrics, this, reduceTask.getShuffleSecret())
          : new VrdmaFetcher<>(jobConf, reduceId, scheduler, merger, reporter, metrics, this,
              reduceTask.getShuffleSecret(), this::client, own, hostLocal, stockHosts);
      fetchers.add(f);
      f.start();
    }
    try {
      while (!scheduler.waitUntilDone(PROGRESS_FREQUENCY_MS)) {
        reporter.progress();
        checkFailure();
      }
    } finally {
      events.shutDown();
      for (Fetcher<K, V> f : fetchers) {
        f.shutDown();
      }
    }
  }

  /**
   * Begins starting our block client on a thread of its own, once: a reducer whose map outputs all come over the
   * tiers (host-local reads off) begins at once, so that the start (about half a second in a fresh task JVM:
   * classes, Netty, the arena) overlaps the first map completion events; otherwise the first fetcher that needs it
   * begins it, and a reducer that reads only host-local map outputs never does.
   */
  private synchronized CompletableFuture<Void> startClient() {
    if (clientStart == null) {
      CompletableFuture<Void> started = new CompletableFuture<>();
      clientStart = started;
      Thread t = new Thread(() -> {
        try {
          startNow();
        } finally {
          started.complete(null);
        }
      }, "vrdma-shuffle-client-start-" + reduceId);
      t.setDaemon(true);
      t.start();
    }
    return clientStart;
  }

  /** Starts the transport and the client (on the start thread). A start that fails is not tried again. */
  private void startNow() {
    long began = System.nanoTime();
    Map<String, String> settings = HadoopWireSecurity.layerSettings(jobConf);
    String[] localDirs = jobConf.getTrimmedStrings(org.apache.hadoop.mapreduce.MRConfig.LOCAL_DIR);
    if (settings.getOrDefault(BlockConf.SPILL_DIR.name(), "").isEmpty() && localDirs.length > 0) {
      // large map outputs are assembled in the container's own local dirs, which YARN deletes with the container
      settings.put(BlockConf.SPILL_DIR.name(), String.join(",", localDirs));
    }
    TransportNode started = null;
    BlockClient startedClient = null;
    Exception failure = null;
    try {
      // a reducer only reads: no control server, no slot in the shm arena
      started = TransportNode.startClient(TransportConf.fromMap(settings));
      startedClient = new BlockClient(started, BlockConf.fromMap(settings));
      LOG.info("vRDMA shuffle client of {} started in {} ms", reduceId, (System.nanoTime() - began) / 1_000_000);
    } catch (TransportException | RuntimeException e) {
      failure = e;
      if (started != null) {
        started.close();
        started = null;
      }
      LOG.warn("vRDMA shuffle client did not start; map outputs of other hosts come over the HTTP shuffle", e);
    }
    synchronized (this) {
      if (closed) { // the shuffle ended while the client started: nobody will use it
        if (startedClient != null) {
          startedClient.close();
        }
        if (started != null) {
          started.close();
        }
        return;
      }
      node = started;
      client = startedClient;
      clientFailure = failure;
    }
  }

  /** Our block client, waiting for its start; the fetchers then take the HTTP shuffle if it did not start. */
  private BlockClient client() throws IOException {
    try {
      startClient().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while the vRDMA shuffle client started", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IOException("the vRDMA shuffle client did not start: " + e.getCause(), e.getCause());
    }
    synchronized (this) {
      if (client == null) {
        throw new IOException("the vRDMA shuffle client did not start: " + clientFailure, clientFailure);
      }
      return client;
    }
  }

  /** LocalJobRunner: the map outputs are files on this machine; read our partition of each into the merger. */
  private void copyLocalMapFiles(Map<org.apache.hadoop.mapred.TaskAttemptID, MapOutputFile> files)
      throws IOException, InterruptedException {
    if (jobConf.getBoolean(MRJobConfig.MR_ENCRYPTED_INTERMEDIATE_DATA, false)) {
      throw new IOException("the vRDMA shuffle plugin does not read encrypted intermediate data under the"
          + " LocalJobRunner; use the stock shuffle (org.apache.hadoop.mapreduce.task.reduce.Shuffle) for such jobs");
    }
    int partition = reduceId.getTaskID().getId();
    LocalMapOutputs local = new LocalMapOutputs(jobConf);
    for (Map.Entry<org.apache.hadoop.mapred.TaskAttemptID, MapOutputFile> e : files.entrySet()) {
      TaskAttemptID map = e.getKey();
      Path data = e.getValue().getOutputFile();
      // beside the data file, by Hadoop's convention for these files: in an uber job the MapOutputFile here is a
      // YarnOutputFiles.RenamedMapOutputFile, whose getOutputIndexFile() throws
      IndexRecord record = local.record(data.suffix(".index"), partition);
      MapOutput<K, V> output;
      while ((output = merger.reserve(map, record.rawLength, 0)) == null) {
        merger.waitForResource();
      }
      local.copy(map, data, record, output, LOCAL_HOST, scheduler, metrics, reporter);
      checkFailure();
    }
  }

  private synchronized void checkFailure() throws IOException {
    if (throwable != null) {
      throw new IOException("error in shuffle in " + throwingThreadName, throwable);
    }
  }

  @Override
  public synchronized void reportException(Throwable t) {
    if (throwable == null) {
      throwable = t;
      throwingThreadName = Thread.currentThread().getName();
      // not waking the scheduler here: it calls this holding its own lock; run() looks every 2 s
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (client != null) {
      // the reduce task sends its counters after the reduce phase, which follows this
      reporter.incrCounter(VrdmaShuffleCounter.VRDMA_SHM_BYTES, client.metrics().bytes(Tier.SHM));
      reporter.incrCounter(VrdmaShuffleCounter.VRDMA_VERBS_BYTES, client.metrics().bytes(Tier.VERBS));
      reporter.incrCounter(VrdmaShuffleCounter.VRDMA_TCP_BYTES, client.metrics().bytes(Tier.TCP));
      reporter.incrCounter(VrdmaShuffleCounter.VRDMA_RSOCKET_BYTES, client.metrics().bytes(Tier.RSOCKET));
      LOG.info("vRDMA shuffle client of {}: {}", reduceId, client.metrics());
      client.close();
    }
    if (node != null) {
      node.close();
    }
  }

  /** Polls the umbilical for map completions and hands them to the scheduler, as Hadoop's EventFetcher does. */
  private final class EventFetcher extends Thread {
    private static final int SLEEP_MS = 1000;
    private static final int MAX_RETRIES = 10;
    private final int maxEvents;
    private volatile boolean stopped;

    EventFetcher(int maxEvents) {
      super("vrdma-shuffle-events-" + reduceId);
      this.maxEvents = maxEvents;
      setDaemon(true);
    }

    @Override
    public void run() {
      TaskUmbilicalProtocol umbilical = context.getUmbilical();
      org.apache.hadoop.mapred.TaskAttemptID reduce = (org.apache.hadoop.mapred.TaskAttemptID) reduceId;
      int from = 0;
      int failures = 0;
      while (!stopped && !isInterrupted()) {
        try {
          int got;
          do {
            MapTaskCompletionEventsUpdate update =
                umbilical.getMapCompletionEvents(reduce.getJobID(), from, maxEvents, reduce);
            TaskCompletionEvent[] events = update.getMapTaskCompletionEvents();
            if (update.shouldReset()) {
              from = 0;
              scheduler.resetKnownMaps();
            }
            from += events.length;
            for (TaskCompletionEvent event : events) {
              scheduler.resolve(event);
            }
            got = events.length;
          } while (got == maxEvents && !stopped);
          failures = 0;
          Thread.sleep(SLEEP_MS);
        } catch (InterruptedException e) {
          return;
        } catch (IOException e) {
          if (++failures >= MAX_RETRIES) {
            reportException(new IOException("map completion events not fetched " + failures + " times", e));
            return;
          }
          LOG.info("map completion events not fetched, trying again: {}", e.toString());
        } catch (RuntimeException e) {
          reportException(e);
          return;
        }
      }
    }

    void shutDown() throws InterruptedException {
      stopped = true;
      interrupt();
      join(5000);
    }
  }
}
