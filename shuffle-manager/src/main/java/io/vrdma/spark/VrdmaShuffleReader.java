package io.vrdma.spark;

import java.io.InputStream;
import org.apache.spark.Aggregator;
import org.apache.spark.InterruptibleIterator;
import org.apache.spark.ShuffleDependency;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.internal.config.package$;
import org.apache.spark.io.CompressionCodec;
import org.apache.spark.io.CompressionCodec$;
import org.apache.spark.serializer.SerializerInstance;
import org.apache.spark.serializer.SerializerManager;
import org.apache.spark.shuffle.BaseShuffleHandle;
import org.apache.spark.shuffle.ShuffleReadMetricsReporter;
import org.apache.spark.shuffle.ShuffleReader;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.BlockManagerId;
import org.apache.spark.storage.ShuffleBlockFetcherIterator;
import org.apache.spark.util.SystemClock;
import org.apache.spark.util.TaskCompletionListener;
import org.apache.spark.util.collection.ExternalSorter;
import scala.Product2;
import scala.Tuple2;
import scala.Tuple3;
import scala.collection.AbstractIterator;
import scala.collection.Iterator;
import scala.collection.Seq;
import scala.math.Ordering;

/**
 * Reads a reduce task's blocks with Spark's own {@link ShuffleBlockFetcherIterator} — flow control, local
 * blocks, batch fetch, corruption detection, metrics and {@code FetchFailedException} are all Spark's — with
 * our {@link VrdmaBlockStoreClient} moving the remote bytes; then deserializes, aggregates and sorts as Spark's
 * {@code BlockStoreShuffleReader} does.
 */
final class VrdmaShuffleReader<K, C> implements ShuffleReader<K, C> {
  private final BaseShuffleHandle<K, ?, C> handle;
  private final Iterator<Tuple2<BlockManagerId, Seq<Tuple3<BlockId, Object, Object>>>> blocksByAddress;
  private final TaskContext context;
  private final ShuffleReadMetricsReporter readMetrics;
  private final boolean shouldBatchFetch;
  private final VrdmaRuntime runtime;

  VrdmaShuffleReader(BaseShuffleHandle<K, ?, C> handle,
      Iterator<Tuple2<BlockManagerId, Seq<Tuple3<BlockId, Object, Object>>>> blocksByAddress, TaskContext context,
      ShuffleReadMetricsReporter readMetrics, boolean shouldBatchFetch, VrdmaRuntime runtime) {
    this.handle = handle;
    this.blocksByAddress = blocksByAddress;
    this.context = context;
    this.readMetrics = readMetrics;
    this.shouldBatchFetch = shouldBatchFetch;
    this.runtime = runtime;
  }

  /** Spark's rule: batch fetch of contiguous blocks needs relocatable, concatenable, unencrypted streams. */
  private boolean fetchContinuousBlocksInBatch(SparkConf conf, ShuffleDependency<K, ?, C> dep) {
    boolean compressed = (Boolean) conf.get(package$.MODULE$.SHUFFLE_COMPRESS());
    CompressionCodec$ codecs = CompressionCodec$.MODULE$;
    boolean codecConcatenation = !compressed || codecs.supportsConcatenationOfSerializedStreams(
        codecs.createCodec(conf));
    return shouldBatchFetch && dep.serializer().supportsRelocationOfSerializedObjects() && codecConcatenation
        && !(Boolean) conf.get(package$.MODULE$.SHUFFLE_USE_OLD_FETCH_PROTOCOL())
        && !(Boolean) conf.get(package$.MODULE$.IO_ENCRYPTION_ENABLED());
  }

  @Override
  // Spark's dependency erases the value type: records are (K, V) or (K, C) by the dependency's flags, as in
  // Spark's own reader
  @SuppressWarnings({"unchecked", "rawtypes"})
  public Iterator<Product2<K, C>> read() {
    SparkEnv env = SparkEnv.get();
    SparkConf conf = env.conf();
    ShuffleDependency<K, ?, C> dep = handle.dependency();
    SerializerManager serializerManager = env.serializerManager();
    package$ keys = package$.MODULE$;
    ShuffleBlockFetcherIterator fetcher = new ShuffleBlockFetcherIterator(context,
        new VrdmaBlockStoreClient(runtime, env.blockManager().blockStoreClient()), env.blockManager(),
        env.mapOutputTracker(), blocksByAddress, (BlockId id, InputStream in) -> serializerManager.wrapStream(id, in),
        (Long) conf.get(keys.REDUCER_MAX_SIZE_IN_FLIGHT()) * 1024 * 1024,
        (Integer) conf.get(keys.REDUCER_MAX_REQS_IN_FLIGHT()),
        (Integer) conf.get(keys.REDUCER_MAX_BLOCKS_IN_FLIGHT_PER_ADDRESS()),
        (Long) conf.get(keys.MAX_REMOTE_BLOCK_SIZE_FETCH_TO_MEM()),
        (Integer) conf.get(keys.SHUFFLE_MAX_ATTEMPTS_ON_NETTY_OOM()),
        (Boolean) conf.get(keys.SHUFFLE_DETECT_CORRUPT()),
        (Boolean) conf.get(keys.SHUFFLE_DETECT_CORRUPT_MEMORY()),
        (Boolean) conf.get(keys.SHUFFLE_CHECKSUM_ENABLED()),
        conf.get(keys.SHUFFLE_CHECKSUM_ALGORITHM()),
        readMetrics, fetchContinuousBlocksInBatch(conf, dep), new SystemClock());
    Iterator<Tuple2<BlockId, InputStream>> streams = fetcher.toCompletionIterator();
    SerializerInstance serializer = dep.serializer().newInstance();
    Iterator<Tuple2<Object, Object>> records = streams.flatMap(
        stream -> serializer.deserializeStream(stream._2()).asKeyValueIterator());
    Iterator<Tuple2<Object, Object>> counted = new AbstractIterator<>() {
      private boolean done;

      @Override
      public boolean hasNext() {
        boolean more = records.hasNext();
        if (!more && !done) {
          done = true;
          context.taskMetrics().mergeShuffleReadMetrics();
        }
        return more;
      }

      @Override
      public Tuple2<Object, Object> next() {
        Tuple2<Object, Object> record = records.next();
        readMetrics.incRecordsRead(1);
        return record;
      }
    };
    Iterator<Product2<K, C>> interruptible = (Iterator) new InterruptibleIterator<>(context, counted);

    Iterator<Product2<K, C>> aggregated;
    if (dep.aggregator().isDefined()) {
      Aggregator aggregator = dep.aggregator().get();
      aggregated = dep.mapSideCombine()
          ? aggregator.combineCombinersByKey(interruptible, context)
          : aggregator.combineValuesByKey(interruptible, context);
    } else {
      aggregated = interruptible;
    }

    Iterator<Product2<K, C>> result;
    if (dep.keyOrdering().isDefined()) {
      Ordering<K> ordering = dep.keyOrdering().get();
      ExternalSorter<K, C, C> sorter = SparkShims.newKeySorter(context, ordering, dep.serializer());
      sorter.insertAll(aggregated);
      context.taskMetrics().incMemoryBytesSpilled(sorter.memoryBytesSpilled());
      context.taskMetrics().incDiskBytesSpilled(sorter.diskBytesSpilled());
      context.taskMetrics().incPeakExecutionMemory(sorter.peakMemoryUsedBytes());
      context.addTaskCompletionListener((TaskCompletionListener) ctx -> sorter.stop());
      Iterator<Product2<K, C>> sorted = sorter.iterator();
      result = new AbstractIterator<>() {
        private boolean stopped;

        @Override
        public boolean hasNext() {
          boolean more = sorted.hasNext();
          if (!more && !stopped) {
            stopped = true;
            sorter.stop();
          }
          return more;
        }

        @Override
        public Product2<K, C> next() {
          return sorted.next();
        }
      };
    } else {
      result = aggregated;
    }
    return result instanceof InterruptibleIterator ? result : new InterruptibleIterator<>(context, result);
  }
}
