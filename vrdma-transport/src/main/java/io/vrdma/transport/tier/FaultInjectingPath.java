package io.vrdma.transport.tier;

import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionView;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.buffer.PooledBuffer;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A data path that disturbs another on purpose — fails, delays or corrupts reads — so that the layers
 * above can prove their fallback, retry and corruption handling against a real transport. Configured
 * by the {@code vrdma.transport.fault.*} keys, off by default, meant for tests only.
 */
public final class FaultInjectingPath implements DataPath {
  private final DataPath delegate;
  private final long failEvery;
  private final long corruptEvery;
  private final long delayMillis;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong successes = new AtomicLong();

  public FaultInjectingPath(DataPath delegate, long failEvery, long corruptEvery, long delayMillis) {
    this.delegate = delegate;
    this.failEvery = failEvery;
    this.corruptEvery = corruptEvery;
    this.delayMillis = delayMillis;
  }

  @Override
  public CompletableFuture<Void> read(RegionDescriptor region, long offset, int length, PooledBuffer dst,
      int dstOffset) {
    long n = reads.incrementAndGet();
    if (failEvery > 0 && n % failEvery == 0) {
      return CompletableFuture.failedFuture(new TransportException("injected failure of read " + n
          + " on tier " + region.tier().configName()));
    }
    CompletableFuture<Void> started;
    if (delayMillis > 0) {
      dst.retain();
      Executor later = CompletableFuture.delayedExecutor(delayMillis, TimeUnit.MILLISECONDS);
      started = CompletableFuture.supplyAsync(() -> null, later)
          .thenCompose(x -> delegate.read(region, offset, length, dst, dstOffset))
          .whenComplete((x, e) -> dst.release());
    } else {
      started = delegate.read(region, offset, length, dst, dstOffset);
    }
    return started.thenApply(x -> {
      long ok = successes.incrementAndGet();
      if (corruptEvery > 0 && ok % corruptEvery == 0 && length > 0) {
        int at = dstOffset + length / 2;
        java.nio.ByteBuffer view = dst.nioBuffer();
        view.put(at, (byte) ~view.get(at));
      }
      return x;
    });
  }

  /**
   * Views count as reads: a failing one throws, a delayed one waits, and a corrupted one is a view of a copy with one byte
   * flipped (whose validity is still the real region's), so the layers above meet the same faults on the
   * zero-copy path as on the copying one.
   */
  @Override
  public Optional<RegionView> view(RegionDescriptor region, long offset, int length) throws TransportException {
    long n = reads.incrementAndGet();
    if (failEvery > 0 && n % failEvery == 0) {
      throw new TransportException("injected failure of view " + n + " on tier " + region.tier().configName());
    }
    if (delayMillis > 0) {
      try {
        Thread.sleep(delayMillis); // a view is made in the caller's thread: so is its delay
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TransportException("interrupted while delaying a view", e);
      }
    }
    Optional<RegionView> real = delegate.view(region, offset, length);
    if (real.isEmpty()) {
      return real;
    }
    long ok = successes.incrementAndGet();
    if (corruptEvery <= 0 || ok % corruptEvery != 0 || length == 0) {
      return real;
    }
    RegionView original = real.get();
    ByteBuffer copy = ByteBuffer.allocate(length).put(original.buffer()).flip();
    copy.put(length / 2, (byte) ~copy.get(length / 2));
    return Optional.of(new RegionView() {
      @Override
      public int length() {
        return length;
      }

      @Override
      public ByteBuffer buffer() {
        return copy.asReadOnlyBuffer();
      }

      @Override
      public void checkValid() throws TransportException {
        original.checkValid();
      }
    });
  }

  @Override
  public void close() {
    delegate.close();
  }
}
