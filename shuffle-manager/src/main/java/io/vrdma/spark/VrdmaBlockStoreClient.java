package io.vrdma.spark;

import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.network.buffer.ManagedBuffer;
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
  /** {@code shuffle_<shuffleId>_<mapId>_<reduceId>}: the ids we publish. */
  private static final Pattern SHUFFLE_BLOCK = Pattern.compile("shuffle_(\\d+)_(\\d+)_(\\d+)");

  private final VrdmaRuntime runtime;
  private final BlockStoreClient spark;

  VrdmaBlockStoreClient(VrdmaRuntime runtime, BlockStoreClient spark) {
    this.runtime = runtime;
    this.spark = spark;
  }

  @Override
  public void fetchBlocks(String host, int port, String execId, String[] blockIds, BlockFetchingListener listener,
      DownloadFileManager downloadFileManager) {
    List<String> ours = new ArrayList<>();
    List<String> theirs = new ArrayList<>();
    int shuffleId = -1;
    for (String id : blockIds) {
      Matcher m = SHUFFLE_BLOCK.matcher(id);
      if (m.matches() && (shuffleId < 0 || shuffleId == Integer.parseInt(m.group(1)))) {
        shuffleId = Integer.parseInt(m.group(1));
        ours.add(id);
      } else {
        theirs.add(id);
      }
    }
    DriverMessages.PeerAddress peer = ours.isEmpty() ? null : runtime.peer(execId);
    if (peer == null) {
      theirs.addAll(ours);
      ours.clear();
    }
    if (!theirs.isEmpty()) {
      throughSpark(host, port, execId, theirs, listener, downloadFileManager);
    }
    if (ours.isEmpty()) {
      return;
    }
    BlockFetchListener adapter = new BlockFetchListener() {
      @Override
      public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
        ManagedBuffer buffer = new FetchedManagedBuffer(block);
        try {
          listener.onBlockFetchSuccess(blockId, buffer);
        } finally {
          buffer.release();
        }
      }

      @Override
      public void onBlockFetchFailure(String blockId, Throwable cause) {
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
      throughSpark(host, port, execId, ours, listener, downloadFileManager);
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
