package io.vrdma.transport.buffer;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A registered receive buffer lent by a {@link BufferPool}. It is reference counted: the holder that
 * acquired it owns one reference, {@link #retain()} adds one for another holder (a read in flight does
 * this), and the last {@link #release()} returns the memory to the pool. {@link #close()} is
 * {@link #release()}, so a buffer can live in a try-with-resources block.
 */
public final class PooledBuffer implements AutoCloseable {
  private final BufferPool pool;
  private final ByteBuffer memory;
  private final AtomicInteger refCnt = new AtomicInteger(1);
  private final Throwable acquiredAt;

  PooledBuffer(BufferPool pool, ByteBuffer memory, Throwable acquiredAt) {
    this.pool = pool;
    this.memory = memory;
    this.acquiredAt = acquiredAt;
  }

  /** Bytes this buffer can hold (the pool's size class, at least what was asked for). */
  public int capacity() {
    return memory.capacity();
  }

  /**
   * A fresh view of the whole buffer (position 0, limit capacity). Views share the memory, so they are
   * valid only while this buffer holds a reference.
   */
  public ByteBuffer nioBuffer() {
    ensureLive();
    return memory.duplicate().clear();
  }

  /** A view of {@code length} bytes from {@code offset}, valid while this buffer holds a reference. */
  public ByteBuffer nioBuffer(int offset, int length) {
    ensureLive();
    return memory.slice(offset, length);
  }

  /** Adds a reference; the buffer goes back to the pool only when every reference is released. */
  public PooledBuffer retain() {
    int prev = refCnt.getAndUpdate(n -> n <= 0 ? n : n + 1);
    if (prev <= 0) {
      throw new IllegalStateException("buffer already released");
    }
    return this;
  }

  /** Drops a reference; the last one returns the memory to the pool. Releasing twice is an error. */
  public void release() {
    int now = refCnt.decrementAndGet();
    if (now == 0) {
      pool.recycle(this);
    } else if (now < 0) {
      refCnt.incrementAndGet();
      throw new IllegalStateException("buffer released more often than retained");
    }
  }

  @Override
  public void close() {
    release();
  }

  public int refCnt() {
    return refCnt.get();
  }

  ByteBuffer memory() {
    return memory;
  }

  Throwable acquiredAt() {
    return acquiredAt;
  }

  private void ensureLive() {
    if (refCnt.get() <= 0) {
      throw new IllegalStateException("buffer used after release");
    }
  }
}
