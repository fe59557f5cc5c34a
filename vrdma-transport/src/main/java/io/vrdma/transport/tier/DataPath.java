package io.vrdma.transport.tier;

import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.buffer.PooledBuffer;
import java.util.concurrent.CompletableFuture;

/** Reads a peer's regions on one tier. Bounds against the descriptor are checked before this is called. */
public interface DataPath extends AutoCloseable {
  /**
   * Reads into {@code dst}; the caller holds a reference on {@code dst} until the future completes.
   */
  CompletableFuture<Void> read(RegionDescriptor region, long offset, int length, PooledBuffer dst,
      int dstOffset);

  @Override
  void close();
}
