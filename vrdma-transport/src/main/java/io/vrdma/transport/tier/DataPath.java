package io.vrdma.transport.tier;

import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionView;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.buffer.PooledBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** Reads a peer's regions on one tier. Bounds against the descriptor are checked before this is called. */
public interface DataPath extends AutoCloseable {
  /**
   * Reads into {@code dst}; the caller holds a reference on {@code dst} until the future completes.
   */
  CompletableFuture<Void> read(RegionDescriptor region, long offset, int length, PooledBuffer dst,
      int dstOffset);

  /**
   * A window onto the bytes without copying them, when this tier maps the peer's memory; empty when it must
   * copy (the default).
   *
   * @throws TransportException when the region is gone or the descriptor invalid, as a read would fail
   */
  default Optional<RegionView> view(RegionDescriptor region, long offset, int length) throws TransportException {
    return Optional.empty();
  }

  @Override
  void close();
}
