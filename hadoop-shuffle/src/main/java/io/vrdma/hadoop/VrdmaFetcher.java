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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.crypto.SecretKey;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fetcher thread of the reduce-side plugin: Hadoop's {@link Fetcher} loop (wait for merge memory, take
 * a host from the scheduler, copy its maps, free it) with the copy going through the {@link BlockClient}.
 * For each map it first reads the partition's index record, reserves that much with the merge manager
 * (which decides memory or disk, as for the stock shuffle), then reads the partition's bytes into the
 * reserved {@link MapOutput} and hands it to the scheduler, which commits it. A host whose service cannot
 * be reached, refuses us, or fails a read is fetched with the stock HTTP fetcher from then on.
 */
final class VrdmaFetcher<K, V> extends Fetcher<K, V> {
  private static final Logger LOG = LoggerFactory.getLogger(VrdmaFetcher.class);
  private static final long RETRY_PAUSE_MS = 100;

  private final BlockClient client;
  private final int port;
  private final String namespace;
  private final byte[] secret;
  private final long publishWaitMs;
  /** Hosts ("host:httpPort" as the scheduler names them) fetched with the stock fetcher, shared by all fetchers. */
  private final Map<String, Boolean> stockHosts;

  @SuppressWarnings("this-escape") // Fetcher's constructor names the thread; nothing of ours is used before it returns
  VrdmaFetcher(JobConf job, TaskAttemptID reduceId, ShuffleSchedulerImpl<K, V> scheduler, MergeManager<K, V> merger,
      Reporter reporter, ShuffleClientMetrics metrics, ExceptionReporter exceptionReporter, SecretKey shuffleKey,
      BlockClient client, int port, long publishWaitMs, Map<String, Boolean> stockHosts) {
    super(job, reduceId, scheduler, merger, reporter, metrics, exceptionReporter, shuffleKey);
    this.client = client;
    this.port = port;
    this.namespace = BlockIds.namespace(reduceId.getJobID());
    this.secret = shuffleKey.getEncoded();
    this.publishWaitMs = publishWaitMs;
    this.stockHosts = stockHosts;
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
    List<TaskAttemptID> maps = scheduler.getMapsForHost(host);
    if (maps.isEmpty()) {
      return;
    }
    Deque<TaskAttemptID> remaining = new ArrayDeque<>(maps);
    boolean fallBack = false;
    try {
      Map<TaskAttemptID, IndexRecord> index = fetchIndex(host, maps);
      while (!remaining.isEmpty() && !isInterrupted()) {
        if (!copyMap(host, remaining.peek(), index.get(remaining.peek()))) {
          break; // the merge manager wants us to wait; the loop waits for it and comes back
        }
        remaining.poll();
      }
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
      Map<String, Object> got = fetch(host, wanted);
      boolean notFound = false;
      try {
        for (Map.Entry<String, Object> e : got.entrySet()) {
          if (e.getValue() instanceof FetchedBlock block) {
            ByteBuffer b = block.nioByteBuffer();
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
      } finally {
        releaseAll(got);
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

  /** Copies one map's partition; false if the merge manager has no room now. */
  private boolean copyMap(MapHost host, TaskAttemptID map, IndexRecord record) throws OurPathFailed, IOException {
    MapOutput<K, V> output = merger.reserve(map, record.rawLength, id);
    if (output == null) {
      return false;
    }
    long start = System.currentTimeMillis();
    String blockId = BlockIds.data(map, reduce);
    boolean done = false;
    try {
      Object got = fetch(host, List.of(blockId)).get(blockId);
      if (!(got instanceof FetchedBlock block)) {
        throw new OurPathFailed("map output " + blockId + " not fetched", (Throwable) got);
      }
      try (block; InputStream in = block.createInputStream()) {
        if (block.size() != record.partLength) {
          throw new OurPathFailed("map output " + blockId + " has " + block.size() + " bytes, its index says "
              + record.partLength, null);
        }
        output.shuffle(host, in, record.partLength, record.rawLength, metrics, reporter);
      }
      scheduler.copySucceeded(map, host, record.partLength, start, System.currentTimeMillis(), output);
      reporter.incrCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_BYTES, record.partLength);
      reporter.incrCounter(VrdmaShuffleCounter.VRDMA_SHUFFLE_MAPS, 1);
      done = true;
      return true;
    } catch (IOException e) {
      // the bytes arrived intact (CRC32C) but do not read as this map's IFile partition: let the stock path try
      throw new OurPathFailed("map output " + blockId + " did not shuffle", e);
    } finally {
      if (!done) {
        output.abort();
      }
    }
  }

  /** Fetches blocks of this job from the host's service: id → {@link FetchedBlock} or the failure's cause. */
  private Map<String, Object> fetch(MapHost host, List<String> ids) throws OurPathFailed, IOException {
    Map<String, Object> got = new ConcurrentHashMap<>();
    try {
      client.fetch(hostOf(host), port, namespace, secret, ids, new BlockFetchListener() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          got.put(blockId, block);
        }

        @Override
        public void onBlockFetchFailure(String blockId, Throwable cause) {
          got.put(blockId, cause);
        }
      }).get(10, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      releaseAll(got);
      throw new IOException("interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      releaseAll(got);
      throw new OurPathFailed("fetch from " + host.getHostName() + " failed", e);
    }
    return got;
  }

  private static void releaseAll(Map<String, Object> got) {
    for (Object o : got.values()) {
      if (o instanceof FetchedBlock b) {
        b.release();
      }
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
