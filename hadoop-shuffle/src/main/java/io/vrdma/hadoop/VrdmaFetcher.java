package io.vrdma.hadoop;

import io.vrdma.block.BlockException.BlockNotFoundException;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.crypto.SecretKey;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.mapred.IndexRecord;
import org.apache.hadoop.mapred.JobConf;
import org.apache.hadoop.mapred.Reporter;
import org.apache.hadoop.mapreduce.TaskAttemptID;
import org.apache.hadoop.mapreduce.task.reduce.ExceptionReporter;
import org.apache.hadoop.mapreduce.task.reduce.Fetcher;
import org.apache.hadoop.mapreduce.task.reduce.MapHost;
import org.apache.hadoop.mapreduce.task.reduce.MapOutput;
import org.apache.hadoop.mapreduce.task.reduce.MergeManager;
import org.apache.hadoop.mapreduce.task.reduce.ShuffleClientMetrics;
import org.apache.hadoop.mapreduce.task.reduce.ShuffleSchedulerImpl;
import org.apache.hadoop.yarn.api.ApplicationConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fetcher thread of the reduce-side plugin: Hadoop's {@link Fetcher} loop (wait for merge memory, take
 * a host from the scheduler, copy its maps, free it) with the copy going through the {@link BlockClient}.
 * For each map it first reads the partition's index record, reserves that much with the merge manager
 * (which decides memory or disk, as for the stock shuffle), then reads the partition's bytes into the
 * reserved {@link MapOutput} and hands it to the scheduler, which commits it. A host whose service cannot
 * be reached, refuses us, or fails a read is fetched with the stock HTTP fetcher from then on. The map outputs
 * of the reducer's own host are read from the job's local dirs instead, with no transfer, unless {@link
 * VrdmaShuffleConf#HOST_LOCAL} is off.
 */
final class VrdmaFetcher<K, V> extends Fetcher<K, V> {
  private static final Logger LOG = LoggerFactory.getLogger(VrdmaFetcher.class);
  private static final long RETRY_PAUSE_MS = 100;
  /** How long a batch waits for its next map output before the host goes to the HTTP fetcher. */
  private static final long FETCH_TIMEOUT_MINUTES = 10;

  private final ClientSource clients;
  private final int port;
  private final String namespace;
  private final byte[] secret;
  private final long publishWaitMs;
  private final HostLocal hostLocal;
  /** Hosts ("host:httpPort" as the scheduler names them) fetched with the stock fetcher, shared by all fetchers. */
  private final Map<String, Boolean> stockHosts;

  /**
   * Reading map outputs on the reducer's own NodeManager from the job's local dirs ({@link
   * VrdmaShuffleConf#HOST_LOCAL}): this host's name as the NodeManager gives it to the containers it runs (the
   * name map completion events carry), and whether it still works; shared by all fetchers of a reducer.
   */
  static final class HostLocal {
    private final String host;
    private final LocalMapOutputs files;
    private final AtomicBoolean working = new AtomicBoolean(true);

    private HostLocal(String host, LocalMapOutputs files) {
      this.host = host;
      this.files = files;
    }

    /** Host-local reads as the job's configuration asks; off when asked so or when this host's name is unknown. */
    static HostLocal of(VrdmaShuffleConf own, JobConf job) throws IOException {
      String host = System.getenv(ApplicationConstants.Environment.NM_HOST.name());
      if (!own.get(VrdmaShuffleConf.HOST_LOCAL) || host == null || host.isEmpty()) {
        return new HostLocal(null, null);
      }
      return new HostLocal(host, new LocalMapOutputs(job));
    }

    /** Whether host-local reads are on (asked for, and this host's name known). */
    boolean enabled() {
      return host != null;
    }

    boolean covers(MapHost mapHost) {
      return host != null && working.get() && host.equals(hostOf(mapHost));
    }
  }

  @SuppressWarnings("this-escape") // Fetcher's constructor names the thread; nothing of ours is used before it returns
  VrdmaFetcher(JobConf job, TaskAttemptID reduceId, ShuffleSchedulerImpl<K, V> scheduler, MergeManager<K, V> merger,
      Reporter reporter, ShuffleClientMetrics metrics, ExceptionReporter exceptionReporter, SecretKey shuffleKey,
      ClientSource clients, VrdmaShuffleConf own, HostLocal hostLocal, Map<String, Boolean> stockHosts) {
    super(job, reduceId, scheduler, merger, reporter, metrics, exceptionReporter, shuffleKey);
    this.clients = clients;
    this.port = own.port();
    this.namespace = BlockIds.namespace(reduceId.getJobID());
    this.secret = shuffleKey.getEncoded();
    this.publishWaitMs = own.get(VrdmaShuffleConf.PUBLISH_WAIT);
    this.hostLocal = hostLocal;
    this.stockHosts = stockHosts;
  }

  /** Gives the reducer's block client, starting it the first time. */
  @FunctionalInterface
  interface ClientSource {
    /**
     * The client.
     *
     * @throws IOException when it did not start
     */
    BlockClient get() throws IOException;
  }

  static Map<String, Boolean> newStockHosts() {
    return new ConcurrentHashMap<>();
  }

  @Override
  protected void copyFromHost(MapHost host) throws IOException {
    if (stockHosts.containsKey(host.getHostName())) {
      stockCopy(host);
      return;
    }
    if (hostLocal.covers(host) && copyHostLocal(host)) {
      return;
    }
    List<TaskAttemptID> maps = scheduler.getMapsForHost(host);
    if (maps.isEmpty()) {
      return;
    }
    Deque<TaskAttemptID> remaining = new ArrayDeque<>(maps);
    boolean fallBack = false;
    try {
      long began = System.nanoTime();
      Map<TaskAttemptID, IndexRecord> index = fetchIndex(host, maps);
      long indexed = System.nanoTime();
      int copied = 0;
      while (!remaining.isEmpty() && !isInterrupted()) {
        int batch = copyBatch(host, remaining, index);
        if (batch == 0) {
          break; // the merge manager wants us to wait; the loop waits for it and comes back
        }
        copied += batch;
      }
      // one line per host visit, as Hadoop's fetcher logs its copies: where a slow shuffle spent its time
      LOG.info("fetcher#{}: copied {} of {} map outputs from {} over the tiers in {} ms (index records {} ms)", id,
          copied, maps.size(), host.getHostName(), (System.nanoTime() - began) / 1_000_000,
          (indexed - began) / 1_000_000);
    } catch (OurPathFailed e) {
      LOG.warn("vRDMA shuffle from {} failed ({}); fetching its map outputs with the HTTP shuffle", host.getHostName(),
          e.getMessage(), e.getCause());
      stockHosts.put(host.getHostName(), Boolean.TRUE);
      fallBack = true;
    } finally {
      for (TaskAttemptID map : remaining) {
        scheduler.putBackKnownMapOutput(host, map);
      }
    }
    if (fallBack) {
      stockCopy(host);
    }
  }

  /**
   * Reads this host's map outputs straight from the job's local dirs; false when that failed (the maps not yet
   * read are handed back, and this reducer reads over the tiers from then on).
   */
  private boolean copyHostLocal(MapHost host) {
    Deque<TaskAttemptID> remaining = new ArrayDeque<>(scheduler.getMapsForHost(host));
    try {
      while (!remaining.isEmpty() && !isInterrupted()) {
        TaskAttemptID map = remaining.peek();
        Path data = hostLocal.files.dataFile(map);
        IndexRecord record = hostLocal.files.record(hostLocal.files.indexFile(map), reduce);
        MapOutput<K, V> output = merger.reserve(map, record.rawLength, id);
        if (output == null) {
          break; // the merge manager wants us to wait; the loop waits for it and comes back
        }
        hostLocal.files.copy(map, data, record, output, host, scheduler, metrics, reporter);
        remaining.poll();
      }
      return true;
    } catch (IOException e) {
      if (hostLocal.working.compareAndSet(true, false)) {
        LOG.warn("reading map outputs of this host ({}) from the job's local dirs failed ({}); reading them over"
            + " the tiers instead", host.getHostName(), e.toString());
      }
      return false;
    } finally {
      for (TaskAttemptID map : remaining) {
        scheduler.putBackKnownMapOutput(host, map);
      }
    }
  }

  private void stockCopy(MapHost host) throws IOException {
    int maps = host.getNumKnownMapOutputs();
    super.copyFromHost(host);
    reporter.incrCounter(VrdmaShuffleCounter.VRDMA_FALLBACK_MAPS, maps - host.getNumKnownMapOutputs());
  }

  private static String hostOf(MapHost host) {
    String name = host.getHostName();
    int colon = name.lastIndexOf(':');
    return colon < 0 ? name : name.substring(0, colon);
  }

  /** The index records of our partition of every map, asked again while the service has not published them. */
  private Map<TaskAttemptID, IndexRecord> fetchIndex(MapHost host, List<TaskAttemptID> maps)
      throws OurPathFailed, IOException {
    Map<String, TaskAttemptID> byId = new HashMap<>();
    for (TaskAttemptID map : maps) {
      byId.put(BlockIds.index(map, reduce), map);
    }
    Map<TaskAttemptID, IndexRecord> records = new HashMap<>();
    long deadline = System.currentTimeMillis() + publishWaitMs;
    while (true) {
      List<String> wanted = new ArrayList<>();
      for (Map.Entry<String, TaskAttemptID> e : byId.entrySet()) {
        if (!records.containsKey(e.getValue())) {
          wanted.add(e.getKey());
        }
      }
      // copied out as they arrive: held until the last came, staged records could fill a small window
      Map<String, Object> got = fetchCopies(host, wanted);
      boolean notFound = false;
      for (Map.Entry<String, Object> e : got.entrySet()) {
        if (e.getValue() instanceof ByteBuffer b) {
          if (b.remaining() != BlockIds.INDEX_RECORD_BYTES) {
            throw new OurPathFailed("index record " + e.getKey() + " has " + b.remaining() + " bytes", null);
          }
          records.put(byId.get(e.getKey()), new IndexRecord(b.getLong(b.position()), b.getLong(b.position() + 8),
              b.getLong(b.position() + 16)));
        } else if (e.getValue() instanceof BlockNotFoundException) {
          notFound = true;
        } else {
          throw new OurPathFailed("index record " + e.getKey() + " not fetched", (Throwable) e.getValue());
        }
      }
      if (!notFound) {
        return records;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new OurPathFailed("map outputs not published by the service within " + publishWaitMs + " ms", null);
      }
      try {
        Thread.sleep(RETRY_PAUSE_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
    }
  }

  /** A map output being copied: its map, its index record and the output the merge manager reserved for it. */
  private record Reserved<K, V>(TaskAttemptID map, IndexRecord record, MapOutput<K, V> output) {}

  /**
   * Copies the partitions of as many of {@code remaining}'s maps as the merge manager reserves room for now, with
   * one fetch for all of them: the service stages the next outputs while this thread shuffles the ones that came,
   * in the order they come (Hadoop's HTTP fetcher overlaps the same way, streaming a host's maps in one
   * response). Every output of the batch is reserved before its bytes are asked for, so this thread never waits
   * for merge memory while it holds staged blocks. The copied maps leave {@code remaining}.
   *
   * @return how many maps were copied; 0 if the merge manager has no room now
   */
  private int copyBatch(MapHost host, Deque<TaskAttemptID> remaining, Map<TaskAttemptID, IndexRecord> index)
      throws OurPathFailed, IOException {
    Map<String, Reserved<K, V>> batch = new HashMap<>();
    List<String> ids = new ArrayList<>();
    for (TaskAttemptID map : remaining) {
      IndexRecord record = index.get(map);
      MapOutput<K, V> output = merger.reserve(map, record.rawLength, id);
      if (output == null) {
        break; // no room for more now: copy those reserved, the rest come in a later batch
      }
      String blockId = BlockIds.data(map, reduce);
      batch.put(blockId, new Reserved<>(map, record, output));
      ids.add(blockId);
    }
    if (batch.isEmpty()) {
      return 0;
    }
    long start = System.currentTimeMillis();
    Arrivals arrivals = new Arrivals();
    int copied = 0;
    try {
      startFetch(host, ids, arrivals);
      for (int i = 0; i < ids.size(); i++) {
        Map.Entry<String, Object> arrived = arrivals.next();
        Reserved<K, V> target = batch.remove(arrived.getKey());
        if (!(arrived.getValue() instanceof FetchedBlock block)) {
          batch.put(arrived.getKey(), target); // still to be aborted below
          throw new OurPathFailed("map output " + arrived.getKey() + " not fetched", (Throwable) arrived.getValue());
        }
        try {
          shuffleInto(host, arrived.getKey(), block, target);
        } catch (OurPathFailed | IOException | RuntimeException e) {
          target.output().abort();
          throw e;
        }
        scheduler.copySucceeded(target.map(), host, target.record().partLength, start, System.currentTimeMillis(),
            target.output());
        reporter.incrCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_BYTES, target.record().partLength);
        reporter.incrCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS, 1);
        remaining.remove(target.map());
        copied++;
      }
      return copied;
    } finally {
      arrivals.abandon();
      for (Reserved<K, V> left : batch.values()) {
        left.output().abort();
      }
    }
  }

  /** Shuffles one fetched partition into its reserved output (Hadoop checks the IFile checksum as it reads). */
  private void shuffleInto(MapHost host, String blockId, FetchedBlock block, Reserved<K, V> target)
      throws OurPathFailed, IOException {
    try (block; InputStream in = block.createInputStream()) {
      if (block.size() != target.record().partLength) {
        throw new OurPathFailed("map output " + blockId + " has " + block.size() + " bytes, its index says "
            + target.record().partLength, null);
      }
      target.output().shuffle(host, in, target.record().partLength, target.record().rawLength, metrics, reporter);
    } catch (IOException e) {
      // the bytes arrived intact (CRC32C) but do not read as this map's IFile partition: let the stock path try
      throw new OurPathFailed("map output " + blockId + " did not shuffle", e);
    }
  }

  /**
   * The blocks of one batch as the client's threads deliver them, taken by the fetcher thread in the order they
   * came. Once abandoned (the batch ended, or failed), blocks still queued or arriving later are released.
   */
  private static final class Arrivals implements BlockFetchListener {
    private final BlockingQueue<Map.Entry<String, Object>> queue =
        new LinkedBlockingQueue<>();
    private volatile boolean abandoned;

    @Override
    public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
      queue.add(Map.entry(blockId, block));
      if (abandoned) {
        drain();
      }
    }

    @Override
    public void onBlockFetchFailure(String blockId, Throwable cause) {
      queue.add(Map.entry(blockId, cause));
    }

    /** The next block to arrive (or the failure of one). */
    Map.Entry<String, Object> next() throws OurPathFailed, IOException {
      try {
        Map.Entry<String, Object> got = queue.poll(FETCH_TIMEOUT_MINUTES, TimeUnit.MINUTES);
        if (got == null) {
          throw new OurPathFailed("no map output arrived within " + FETCH_TIMEOUT_MINUTES + " minutes", null);
        }
        return got;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
    }

    void abandon() {
      abandoned = true;
      drain();
    }

    private void drain() {
      for (Map.Entry<String, Object> e; (e = queue.poll()) != null; ) {
        if (e.getValue() instanceof FetchedBlock b) {
          b.release();
        }
      }
    }
  }

  /** Starts fetching blocks of this job from the host's service; the listener hears of each. */
  private void startFetch(MapHost host, List<String> ids, BlockFetchListener listener) throws OurPathFailed {
    BlockClient client;
    try {
      client = clients.get();
    } catch (IOException e) {
      throw new OurPathFailed("no vRDMA shuffle client", e);
    }
    client.fetch(hostOf(host), port, namespace, secret, ids, listener);
  }

  /**
   * Fetches small blocks of this job (index records) from the host's service: id → a heap copy of its bytes (the
   * block released at once) or the failure's cause.
   */
  private Map<String, Object> fetchCopies(MapHost host, List<String> ids) throws OurPathFailed, IOException {
    Map<String, Object> got = new HashMap<>(); // filled by this thread only: the listener queues into arrivals
    Arrivals arrivals = new Arrivals();
    try {
      startFetch(host, ids, arrivals);
      for (int i = 0; i < ids.size(); i++) {
        Map.Entry<String, Object> arrived = arrivals.next();
        if (arrived.getValue() instanceof FetchedBlock block) {
          try (block) {
            ByteBuffer bytes = block.nioByteBuffer();
            got.put(arrived.getKey(), ByteBuffer.allocate(bytes.remaining()).put(bytes).flip());
          } catch (IOException e) {
            got.put(arrived.getKey(), e);
          }
        } else {
          got.put(arrived.getKey(), arrived.getValue());
        }
      }
      return got;
    } finally {
      arrivals.abandon();
    }
  }

  /** Our path to a host failed; the host goes to the stock fetcher. */
  private static final class OurPathFailed extends Exception {
    private static final long serialVersionUID = 1L;

    OurPathFailed(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
