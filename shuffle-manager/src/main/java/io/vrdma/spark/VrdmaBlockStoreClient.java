package io.vrdma.spark;

import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.block.client.FetchedBlocks;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.buffer.NioManagedBuffer;
import org.apache.spark.network.shuffle.BlockFetchingListener;
import org.apache.spark.network.shuffle.BlockStoreClient;
import org.apache.spark.network.shuffle.DownloadFileManager;
import org.apache.spark.network.shuffle.checksum.Cause;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link BlockStoreClient} that Spark's {@code ShuffleBlockFetcherIterator} reads remote shuffle blocks
 * with: a block of a peer whose block server the driver knows is read with our {@code BlockClient} over the
 * best tier both sides have; anything else — a peer without a block server, a batch id, a block our client
 * could not read on any tier — is handed to Spark's own client, so a job never fails because of us.
 */
final class VrdmaBlockStoreClient extends BlockStoreClient {
  private static final Logger LOG = LoggerFactory.getLogger(VrdmaBlockStoreClient.class);
  /** A larger batch goes through Spark: our client would hold all its blocks at once. */
  private static final int MAX_BATCH_BLOCKS = 4096;

  private final VrdmaRuntime runtime;
  private final BlockStoreClient spark;

  VrdmaBlockStoreClient(VrdmaRuntime runtime, BlockStoreClient spark) {
    this.runtime = runtime;
    this.spark = spark;
  }

  @Override
  public void fetchBlocks(String host, int port, String execId, String[] blockIds, BlockFetchingListener listener,
      DownloadFileManager downloadFileManager) {
    long askedAt = System.nanoTime();
    List<String> ours = new ArrayList<>();
    List<String> theirs = new ArrayList<>();
    Map<String, Batch> batchOf = new HashMap<>();
    int shuffleId = -1;
    for (String id : blockIds) {
      ShuffleBlockName name = ShuffleBlockName.parse(id);
      if (name == null || (shuffleId >= 0 && name.shuffleId() != shuffleId)) {
        theirs.add(id);
        continue;
      }
      shuffleId = name.shuffleId();
      if (!name.batch()) {
        ours.add(id);
        continue;
      }
      if (name.end() <= name.start() || name.end() - name.start() > MAX_BATCH_BLOCKS) {
        theirs.add(id);
        continue;
      }
      Batch batch = new Batch(id, name.start(), name.end() - name.start());
      for (int r = name.start(); r < name.end(); r++) {
        String part = name.mapPrefix() + r;
        batchOf.put(part, batch);
        ours.add(part);
      }
    }
    DriverMessages.PeerAddress peer = ours.isEmpty() ? null : runtime.peer(execId);
    if (peer == null) {
      ours.stream().map(id -> batchOf.containsKey(id) ? batchOf.get(id).id : id).distinct().forEach(theirs::add);
      ours.clear();
    }
    if (!theirs.isEmpty()) {
      throughSpark(host, port, execId, theirs, listener, downloadFileManager);
    }
    if (ours.isEmpty()) {
      return;
    }
    BlockFetchListener adapter = new BlockFetchListener() {
      /** A batch whose parts all came in this run is handed over as one block, without a copy. */
      @Override
      public void onRunFetched(List<String> ids, List<FetchedBlock> blocks) {
        int i = 0;
        while (i < ids.size()) {
          Batch batch = batchOf.get(ids.get(i));
          int end = i + 1;
          while (batch != null && end < ids.size() && batchOf.get(ids.get(end)) == batch) {
            end++;
          }
          java.util.Optional<FetchedBlock> joined = batch != null && batch.untouched() && end - i == batch.size()
              ? FetchedBlocks.joinInPlace(batch.id, blocks.subList(i, end)) : java.util.Optional.empty();
          if (joined.isPresent() && batch.takeWhole()) {
            blocks.subList(i, end).forEach(FetchedBlock::release);
            deliver(batch.id, joined.get());
            runtime.countBatch();
          } else {
            joined.ifPresent(FetchedBlock::release);
            for (int k = i; k < end; k++) {
              onBlockFetchSuccess(ids.get(k), blocks.get(k));
            }
          }
          i = end;
        }
      }

      private void deliver(String id, FetchedBlock block) {
        ManagedBuffer buffer = new FetchedManagedBuffer(block);
        try {
          listener.onBlockFetchSuccess(id, buffer);
        } finally {
          buffer.release();
        }
      }

      @Override
      public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
        runtime.countBlockRead(askedAt);
        Batch batch = batchOf.get(blockId);
        if (batch != null) {
          if (batch.arrived(block, listener, this::failed)) {
            runtime.countBatch();
          }
          return;
        }
        deliver(blockId, block);
      }

      /** Blocks that failed together (their executor is gone) go to Spark's client in one call. */
      @Override
      public void onBlocksFailed(List<String> ids, Throwable cause) {
        List<String> toSpark = new ArrayList<>();
        for (String id : ids) {
          Batch batch = batchOf.get(id);
          if (batch == null) {
            toSpark.add(id);
          } else if (batch.failed()) {
            toSpark.add(batch.id);
          }
        }
        if (!toSpark.isEmpty()) {
          LOG.warn("vRDMA shuffle: {} blocks of executor {} failed ({}); reading them through Spark", toSpark.size(),
              execId, cause.toString());
          throughSpark(host, port, execId, toSpark, listener, downloadFileManager);
        }
      }

      @Override
      public void onBlockFetchFailure(String blockId, Throwable cause) {
        Batch batch = batchOf.get(blockId);
        if (batch == null) {
          failed(blockId, cause);
        } else if (batch.failed()) {
          failed(batch.id, cause);
        }
      }

      private void failed(String blockId, Throwable cause) {
        LOG.warn("vRDMA shuffle: block {} of executor {} failed on every tier ({}); reading it through Spark",
            blockId, execId, cause.toString());
        throughSpark(host, port, execId, List.of(blockId), listener, downloadFileManager);
      }
    };
    try {
      runtime.client().fetch(peer.host(), peer.port(), runtime.namespace(shuffleId), runtime.secret(), ours, adapter);
    } catch (RuntimeException e) {
      LOG.warn("vRDMA shuffle: cannot fetch from executor {} at {}:{} ({}); reading its blocks through Spark",
          execId, peer.host(), peer.port(), e.toString());
      runtime.forget(execId);
      throughSpark(host, port, execId, ours.stream().map(id -> batchOf.containsKey(id) ? batchOf.get(id).id : id)
          .distinct().toList(), listener, downloadFileManager);
    }
  }

  /**
   * A batch id ({@code shuffle_<s>_<m>_<start>_<end>}: contiguous reduce partitions of one map output, which Spark
   * reads as one stream) fetched as its blocks. The peer serves them as one run (one read) when they fit one, and
   * then the whole batch is handed over as one block, without a copy. Otherwise (the run limit or the window split
   * it) each part is copied out as it arrives and released at once (a staged part held until the last one came
   * could keep the peer's window from staging that last one), and the parts are delivered concatenated in order;
   * if one fails, the whole batch id goes through Spark, once.
   */
  private static final class Batch {
    final String id;
    private final int start;
    private final byte[][] parts;
    private int missing;
    private boolean failed;

    Batch(String id, int start, int blocks) {
      this.id = id;
      this.start = start;
      this.parts = new byte[blocks][];
      this.missing = blocks;
    }

    int size() {
      return parts.length;
    }

    /** Whether no part has arrived or failed yet. */
    synchronized boolean untouched() {
      return !failed && missing == parts.length;
    }

    /** Claims the whole batch for a delivery in one piece; false when a part came or failed meanwhile. */
    synchronized boolean takeWhole() {
      if (failed || missing != parts.length) {
        return false;
      }
      missing = 0;
      return true;
    }

    /**
     * Takes one block (and releases it); when it completes the batch, hands the concatenation to Spark's listener.
     *
     * @return whether the batch was delivered
     */
    boolean arrived(FetchedBlock block, BlockFetchingListener listener, java.util.function.BiConsumer<String, Throwable>
        onFailure) {
      int index = Integer.parseInt(block.blockId().substring(block.blockId().lastIndexOf('_') + 1)) - start;
      byte[] bytes;
      try {
        ByteBuffer b = block.nioByteBuffer();
        bytes = new byte[b.remaining()];
        b.get(bytes);
      } catch (IOException e) {
        onFailure.accept(id, e);
        return false;
      } finally {
        block.release();
      }
      synchronized (this) {
        if (failed) {
          return false;
        }
        parts[index] = bytes;
        if (--missing > 0) {
          return false;
        }
      }
      ByteBuffer whole;
      try {
        long total = 0;
        for (byte[] part : parts) {
          total += part.length;
        }
        whole = ByteBuffer.allocate(Math.toIntExact(total));
      } catch (ArithmeticException e) {
        onFailure.accept(id, e);
        return false;
      }
      for (byte[] part : parts) {
        whole.put(part);
      }
      listener.onBlockFetchSuccess(id, new NioManagedBuffer(whole.flip()));
      return true;
    }

    /** Records a failed block; true for the first, which sends the batch through Spark. */
    synchronized boolean failed() {
      if (failed) {
        return false;
      }
      failed = true;
      java.util.Arrays.fill(parts, null);
      return true;
    }
  }

  private void throughSpark(String host, int port, String execId, List<String> ids, BlockFetchingListener listener,
      DownloadFileManager downloadFileManager) {
    runtime.countSparkFallback(ids.size());
    spark.fetchBlocks(host, port, execId, ids.toArray(new String[0]), listener, downloadFileManager);
  }

  /** Spark's client asks the serving executor (or shuffle service) to diagnose a corrupt block. */
  @Override
  public Cause diagnoseCorruption(String host, int port, String execId, int shuffleId, long mapId, int reduceId,
      long checksum, String algorithm) {
    return spark.diagnoseCorruption(host, port, execId, shuffleId, mapId, reduceId, checksum, algorithm);
  }

  /** Connections are the runtime's, shared by every reader of the executor; Spark's client is Spark's. */
  @Override
  public void close() {}
}
