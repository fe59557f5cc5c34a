package io.vrdma.spark;

import org.apache.spark.ShuffleDependency;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.shuffle.BaseShuffleHandle;
import org.apache.spark.shuffle.ShuffleBlockResolver;
import org.apache.spark.shuffle.ShuffleHandle;
import org.apache.spark.shuffle.ShuffleManager;
import org.apache.spark.shuffle.ShuffleReadMetricsReporter;
import org.apache.spark.shuffle.ShuffleReader;
import org.apache.spark.shuffle.ShuffleWriteMetricsReporter;
import org.apache.spark.shuffle.ShuffleWriter;
import org.apache.spark.shuffle.sort.SortShuffleManager;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.BlockManagerId;
import scala.Tuple2;
import scala.Tuple3;
import scala.collection.Iterator;
import scala.collection.Seq;

/**
 * Spark's {@code ShuffleManager} over vRDMA ({@code spark.shuffle.manager=io.vrdma.spark.VrdmaShuffleManager}).
 * Writes are Spark's {@link SortShuffleManager}'s (its three writer paths, data and index files, checksums);
 * {@link VrdmaShuffleDataIO}, which this manager installs as Spark's shuffle I/O plugin unless one is set,
 * publishes each committed map output through the executor's block server. Reads go through Spark's
 * {@code ShuffleBlockFetcherIterator} with our block client ({@link VrdmaShuffleReader}). Map outputs that
 * decommissioning migrates here are published on arrival ({@link MigrationPublishingResolver}).
 */
public final class VrdmaShuffleManager implements ShuffleManager {
  private static final String IO_PLUGIN_KEY = "spark.shuffle.sort.io.plugin.class";

  private final SortShuffleManager delegate;
  private final MigrationPublishingResolver resolver;

  /**
   * @throws IllegalArgumentException for an unknown key under {@code spark.shuffle.vrdma.} or a malformed value:
   *     the application fails at start-up rather than run without what was asked for
   */
  public VrdmaShuffleManager(SparkConf conf) {
    SparkVrdmaConf.read(conf);
    conf.setIfMissing(IO_PLUGIN_KEY, VrdmaShuffleDataIO.class.getName());
    this.delegate = new SortShuffleManager(conf);
    this.resolver = new MigrationPublishingResolver(conf, delegate.shuffleBlockResolver());
  }

  @Override
  public <K, V, C> ShuffleHandle registerShuffle(int shuffleId, ShuffleDependency<K, V, C> dependency) {
    return delegate.registerShuffle(shuffleId, dependency);
  }

  @Override
  public <K, V> ShuffleWriter<K, V> getWriter(ShuffleHandle handle, long mapId, TaskContext context,
      ShuffleWriteMetricsReporter metrics) {
    return delegate.getWriter(handle, mapId, context, metrics);
  }

  @Override
  public <K, C> ShuffleReader<K, C> getReader(ShuffleHandle handle, int startMapIndex, int endMapIndex,
      int startPartition, int endPartition, TaskContext context, ShuffleReadMetricsReporter metrics) {
    @SuppressWarnings("unchecked") // Spark's own reader makes the same cast: every handle is a BaseShuffleHandle
    BaseShuffleHandle<K, ?, C> base = (BaseShuffleHandle<K, ?, C>) handle;
    VrdmaRuntime runtime = VrdmaRuntime.get();
    if (runtime == null || base.dependency().isShuffleMergeFinalizedMarked()) {
      // no transport here, or a push-merged shuffle: Spark's reader, Spark's client
      return delegate.getReader(handle, startMapIndex, endMapIndex, startPartition, endPartition, context, metrics);
    }
    Iterator<Tuple2<BlockManagerId, Seq<Tuple3<BlockId, Object, Object>>>> blocks = SparkEnv.get()
        .mapOutputTracker().getMapSizesByExecutorId(handle.shuffleId(), startMapIndex, endMapIndex, startPartition,
            endPartition);
    return new VrdmaShuffleReader<>(base, blocks, context, metrics,
        SortShuffleManager.canUseBatchFetch(startPartition, endPartition, context), runtime);
  }

  @Override
  public boolean unregisterShuffle(int shuffleId) {
    VrdmaRuntime runtime = VrdmaRuntime.ifStarted();
    if (runtime != null) {
      runtime.unpublish(shuffleId);
    }
    resolver.unregisterShuffle(shuffleId);
    return delegate.unregisterShuffle(shuffleId);
  }

  /**
   * Spark's index-file resolver, which also publishes map outputs that decommissioning migrates onto this executor
   * ({@link MigrationPublishingResolver}). The sort manager's writers keep its own instance; both share one task-id
   * map, so unregistering a shuffle deletes written and migrated outputs alike.
   */
  @Override
  public ShuffleBlockResolver shuffleBlockResolver() {
    return resolver;
  }

  @Override
  public void stop() {
    VrdmaRuntime.shutdown();
    delegate.stop();
  }
}
