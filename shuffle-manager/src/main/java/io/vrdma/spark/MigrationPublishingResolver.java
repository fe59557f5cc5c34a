package io.vrdma.spark;

import io.vrdma.transport.TransportException;
import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkConf;
import org.apache.spark.network.client.StreamCallbackWithID;
import org.apache.spark.serializer.SerializerManager;
import org.apache.spark.shuffle.IndexShuffleBlockResolver;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.ShuffleDataBlockId;
import org.apache.spark.storage.ShuffleIndexBlockId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spark's index-file resolver, which also publishes the map outputs that decommissioning migrates onto this executor
 * ({@code spark.storage.decommission.shuffleBlocks.enabled}). Spark sends a map output's data and index files one
 * after the other through {@link #putShuffleBlockAsStream}; once both are here (or only the index, for an output
 * without bytes), the output is published by this executor's block server as a map output written here would be, so
 * that reducers, which the driver now sends to this executor for it, read it over our tiers and not through Spark.
 *
 * <p>A subclass, not a wrapper: Spark casts the manager's resolver to {@code IndexShuffleBlockResolver} and to
 * {@code MigratableResolver}. It shares the task-id map of the sort manager's own resolver, so that unregistering a
 * shuffle deletes migrated outputs too.
 */
final class MigrationPublishingResolver extends IndexShuffleBlockResolver {
  private static final Logger LOG = LoggerFactory.getLogger(MigrationPublishingResolver.class);

  /** {@code shuffleId/mapId} of outputs published after migration: a re-sent file does not publish twice. */
  private final Set<String> published = ConcurrentHashMap.newKeySet();

  /**
   * @param sortResolver the sort manager's resolver, whose task-id map this one shares (Spark 3.5 and 4 type it
   *     differently; the same call compiles against both)
   */
  MigrationPublishingResolver(SparkConf conf, IndexShuffleBlockResolver sortResolver) {
    super(conf, null, sortResolver.taskIdMapsForShuffle());
  }

  @Override
  public StreamCallbackWithID putShuffleBlockAsStream(BlockId blockId, SerializerManager serializerManager) {
    StreamCallbackWithID spark = super.putShuffleBlockAsStream(blockId, serializerManager);
    int shuffleId;
    long mapId;
    if (blockId instanceof ShuffleIndexBlockId index) {
      shuffleId = index.shuffleId();
      mapId = index.mapId();
    } else if (blockId instanceof ShuffleDataBlockId data) {
      shuffleId = data.shuffleId();
      mapId = data.mapId();
    } else {
      return spark; // checksum files: nothing to serve
    }
    return new StreamCallbackWithID() {
      @Override
      public String getID() {
        return spark.getID();
      }

      @Override
      public ByteBuffer getCompletionResponse() {
        return spark.getCompletionResponse();
      }

      @Override
      public void onData(String streamId, ByteBuffer buf) throws IOException {
        spark.onData(streamId, buf);
      }

      /** Spark renames the received file into place (and reports it to the driver); then we look for the pair. */
      @Override
      public void onComplete(String streamId) throws IOException {
        spark.onComplete(streamId);
        arrived(shuffleId, mapId);
      }

      @Override
      public void onFailure(String streamId, Throwable cause) throws IOException {
        spark.onFailure(streamId, cause);
      }
    };
  }

  /**
   * One file of a migrated output is in place: when the index is here and the data file has the length the index
   * gives, the output is published. The files on disk decide, whatever order Spark sends them in.
   */
  private void arrived(int shuffleId, long mapId) {
    File index = getIndexFile(shuffleId, mapId, scala.Option.empty());
    if (!index.isFile()) {
      return; // the data came first: publish when the index comes
    }
    long[] lengths;
    try {
      lengths = partitionLengths(index);
    } catch (IOException e) {
      LOG.warn("vRDMA shuffle: migrated index file {} unreadable ({}); reducers read map output {} of shuffle {}"
          + " through Spark", index, e.toString(), mapId, shuffleId);
      return;
    }
    long total = 0;
    for (long length : lengths) {
      total += length;
    }
    File data = getDataFile(shuffleId, mapId);
    if (total > 0 && data.length() != total) {
      return; // the index came first: publish when the data comes
    }
    if (total == 0 || !published.add(shuffleId + "/" + mapId)) {
      return; // nothing to read, or published already
    }
    VrdmaRuntime runtime = VrdmaRuntime.get();
    if (runtime == null) {
      return;
    }
    try {
      runtime.publishMigrated(shuffleId, mapId, data, lengths);
      LOG.info("vRDMA shuffle: published migrated map output {} of shuffle {} ({} bytes, {} partitions)", mapId,
          shuffleId, total, lengths.length);
    } catch (TransportException | RuntimeException e) {
      published.remove(shuffleId + "/" + mapId);
      LOG.warn("vRDMA shuffle: migrated map output {} of shuffle {} not published ({}); reducers read it through"
          + " Spark", mapId, shuffleId, e.toString());
    }
  }

  /** Forgets a shuffle's migrated outputs (it was unregistered; Spark deletes their files). */
  void unregisterShuffle(int shuffleId) {
    published.removeIf(key -> key.startsWith(shuffleId + "/"));
  }

  /** Reduce partitions' lengths from an index file: {@code n + 1} big-endian offsets, the first 0. */
  static long[] partitionLengths(File index) throws IOException {
    long size = Files.size(index.toPath());
    if (size < 8 || size % 8 != 0) {
      throw new IOException("index file of " + size + " bytes: not a sequence of offsets");
    }
    int partitions = Math.toIntExact(size / 8 - 1);
    long[] lengths = new long[partitions];
    try (InputStream in = Files.newInputStream(index.toPath());
        DataInputStream offsets = new DataInputStream(new java.io.BufferedInputStream(in))) {
      long previous = offsets.readLong();
      for (int r = 0; r < partitions; r++) {
        long next = offsets.readLong();
        if (next < previous) {
          throw new IOException("offsets decrease at partition " + r);
        }
        lengths[r] = next - previous;
        previous = next;
      }
    }
    return lengths;
  }
}
