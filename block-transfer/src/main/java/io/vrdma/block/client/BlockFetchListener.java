package io.vrdma.block.client;

import java.util.List;

/**
 * Receives each block of a fetch as it completes, exactly once per block id, from the client's threads:
 * the shape of Spark's {@code BlockFetchingListener} and of Hadoop's fetchers.
 */
public interface BlockFetchListener {
  /** The block arrived intact; the listener owns {@code block} and must release it. */
  void onBlockFetchSuccess(String blockId, FetchedBlock block);

  /** The block could not be fetched on any tier, after retries; {@code cause} says why. */
  void onBlockFetchFailure(String blockId, Throwable cause);

  /**
   * The intact blocks of one run (blocks that lay back to back on the peer and were read with one read), in the
   * order they lay, at once: a listener that joins neighbours (Spark's batch of contiguous partitions) can do it
   * here without copying ({@link FetchedBlocks#joinInPlace}). By default each goes to
   * {@link #onBlockFetchSuccess}.
   */
  default void onRunFetched(List<String> blockIds, List<FetchedBlock> blocks) {
    for (int i = 0; i < blockIds.size(); i++) {
      onBlockFetchSuccess(blockIds.get(i), blocks.get(i));
    }
  }

  /**
   * Blocks that failed together for one reason (their peer is gone, their retries are used up), at once: a
   * listener that hands failures to another client can do it in one call. By default each goes to
   * {@link #onBlockFetchFailure}.
   */
  default void onBlocksFailed(List<String> blockIds, Throwable cause) {
    for (String id : blockIds) {
      onBlockFetchFailure(id, cause);
    }
  }
}
