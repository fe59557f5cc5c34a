package io.vrdma.block.client;

/**
 * Receives each block of a fetch as it completes, exactly once per block id, from the client's threads:
 * the shape of Spark's {@code BlockFetchingListener} and of Hadoop's fetchers.
 */
public interface BlockFetchListener {
  /** The block arrived intact; the listener owns {@code block} and must release it. */
  void onBlockFetchSuccess(String blockId, FetchedBlock block);

  /** The block could not be fetched on any tier, after retries; {@code cause} says why. */
  void onBlockFetchFailure(String blockId, Throwable cause);
}
