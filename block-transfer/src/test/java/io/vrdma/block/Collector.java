package io.vrdma.block;

import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A listener that keeps a copy of each block's bytes (releasing the block) or its failure. */
class Collector implements BlockFetchListener {
  final Map<String, ByteBuffer> blocks = new ConcurrentHashMap<>();
  final Map<String, Throwable> failures = new ConcurrentHashMap<>();
  final Map<String, Integer> calls = new ConcurrentHashMap<>();

  @Override
  public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
    calls.merge(blockId, 1, Integer::sum);
    try {
      ByteBuffer src = block.nioByteBuffer();
      ByteBuffer copy = ByteBuffer.allocate(src.remaining());
      copy.put(src).flip();
      blocks.put(blockId, copy);
    } catch (java.io.IOException e) {
      failures.put(blockId, e);
    } finally {
      block.release();
    }
  }

  @Override
  public void onBlockFetchFailure(String blockId, Throwable cause) {
    calls.merge(blockId, 1, Integer::sum);
    failures.put(blockId, cause);
  }

  /** Every block was reported exactly once. */
  boolean eachReportedOnce(int expected) {
    return calls.size() == expected && calls.values().stream().allMatch(n -> n == 1);
  }
}
