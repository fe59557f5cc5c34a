package io.vrdma.spark;

import io.vrdma.transport.TransportException;
import java.io.File;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.shuffle.IndexShuffleBlockResolver;
import org.apache.spark.shuffle.api.ShuffleDataIO;
import org.apache.spark.shuffle.api.ShuffleDriverComponents;
import org.apache.spark.shuffle.api.ShuffleExecutorComponents;
import org.apache.spark.shuffle.api.ShuffleMapOutputWriter;
import org.apache.spark.shuffle.api.ShufflePartitionWriter;
import org.apache.spark.shuffle.api.SingleSpillShuffleMapOutputWriter;
import org.apache.spark.shuffle.api.metadata.MapOutputCommitMessage;
import org.apache.spark.shuffle.sort.io.LocalDiskShuffleDataIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spark's public shuffle I/O hook ({@code spark.shuffle.sort.io.plugin.class}): Spark's local-disk writers
 * unchanged, and after a map task commits its data and index files, its output is published through the
 * executor's block server. On the driver it runs the discovery endpoint.
 */
public final class VrdmaShuffleDataIO implements ShuffleDataIO {
  private static final Logger LOG = LoggerFactory.getLogger(VrdmaShuffleDataIO.class);

  private final SparkConf conf;
  private final LocalDiskShuffleDataIO local;

  public VrdmaShuffleDataIO(SparkConf conf) {
    this.conf = conf;
    this.local = new LocalDiskShuffleDataIO(conf);
  }

  @Override
  public ShuffleExecutorComponents executor() {
    return new Executor(conf, local.executor());
  }

  @Override
  public ShuffleDriverComponents driver() {
    return new Driver(local.driver());
  }

  /** Publishes each committed map output; everything else is Spark's local-disk components. */
  private static final class Executor implements ShuffleExecutorComponents {
    private final SparkConf conf;
    private final ShuffleExecutorComponents delegate;
    private IndexShuffleBlockResolver resolver;

    Executor(SparkConf conf, ShuffleExecutorComponents delegate) {
      this.conf = conf;
      this.delegate = delegate;
    }

    @Override
    public void initializeExecutor(String appId, String execId, Map<String, String> extraConfigs) {
      delegate.initializeExecutor(appId, execId, extraConfigs);
      resolver = new IndexShuffleBlockResolver(conf, SparkEnv.get().blockManager(),
          new java.util.concurrent.ConcurrentHashMap<>()); // a Map for Spark 3.5, a ConcurrentMap for Spark 4.1+
      VrdmaRuntime.get();
    }

    @Override
    public ShuffleMapOutputWriter createMapOutputWriter(int shuffleId, long mapTaskId, int numPartitions)
        throws IOException {
      ShuffleMapOutputWriter writer = delegate.createMapOutputWriter(shuffleId, mapTaskId, numPartitions);
      return new ShuffleMapOutputWriter() {
        @Override
        public ShufflePartitionWriter getPartitionWriter(int reducePartitionId) throws IOException {
          return writer.getPartitionWriter(reducePartitionId);
        }

        @Override
        public MapOutputCommitMessage commitAllPartitions(long[] checksums) throws IOException {
          MapOutputCommitMessage message = writer.commitAllPartitions(checksums);
          publish(shuffleId, mapTaskId, message.getPartitionLengths());
          return message;
        }

        @Override
        public void abort(Throwable error) throws IOException {
          writer.abort(error);
        }
      };
    }

    @Override
    public Optional<SingleSpillShuffleMapOutputWriter> createSingleFileMapOutputWriter(int shuffleId, long mapId)
        throws IOException {
      return delegate.createSingleFileMapOutputWriter(shuffleId, mapId).map(writer -> (spill, lengths, checksums) -> {
        writer.transferMapSpillFile(spill, lengths, checksums);
        publish(shuffleId, mapId, lengths);
      });
    }

    /** A failed publish leaves the output to Spark's own transfer service: reducers fall back per block. */
    private void publish(int shuffleId, long mapId, long[] lengths) {
      VrdmaRuntime runtime = VrdmaRuntime.get();
      if (runtime == null) {
        return;
      }
      File data = resolver.getDataFile(shuffleId, mapId);
      try {
        runtime.publish(shuffleId, mapId, data, lengths);
      } catch (TransportException | RuntimeException e) {
        LOG.warn("vRDMA shuffle: map output {} of shuffle {} not published ({}); reducers read it through Spark",
            mapId, shuffleId, e.toString());
      }
    }
  }

  /** Spark's driver components, plus the discovery endpoint for the application's lifetime. */
  private static final class Driver implements ShuffleDriverComponents {
    private final ShuffleDriverComponents delegate;
    private VrdmaDriverEndpoint endpoint;

    Driver(ShuffleDriverComponents delegate) {
      this.delegate = delegate;
    }

    @Override
    public Map<String, String> initializeApplication() {
      SparkEnv env = SparkEnv.get();
      endpoint = new VrdmaDriverEndpoint(env.rpcEnv());
      env.rpcEnv().setupEndpoint(VrdmaDriverEndpoint.NAME, endpoint);
      VrdmaDriverEndpoint.started(endpoint);
      return delegate.initializeApplication();
    }

    @Override
    public void cleanupApplication() {
      delegate.cleanupApplication();
    }

    @Override
    public void registerShuffle(int shuffleId) {
      delegate.registerShuffle(shuffleId);
    }

    @Override
    public void removeShuffle(int shuffleId, boolean blocking) {
      delegate.removeShuffle(shuffleId, blocking);
    }

    /**
     * False, as Spark's local-disk components: map outputs live only in the executor's local dirs (and, served from
     * there, in our block server), never in storage that outlives the executor. So Spark keeps its own rules: with
     * dynamic allocation an executor holding shuffle data is removed only when an external shuffle service serves its
     * files ({@code spark.shuffle.service.enabled}) or shuffle tracking keeps it, and a lost executor's outputs are
     * recomputed.
     */
    @Override
    public boolean supportsReliableStorage() {
      return false;
    }
  }
}
