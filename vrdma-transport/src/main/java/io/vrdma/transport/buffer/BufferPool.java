package io.vrdma.transport.buffer;

import io.vrdma.transport.TransportException.ResourceFullException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Registered receive buffers in power-of-two size classes, from 4 KiB to a configured maximum, under a
 * byte budget. Buffers are allocated on first use and cached after release, because registering memory
 * with a device (verbs) is far more expensive than reusing it.
 *
 * <p>Every buffer is owned by whoever acquired it until released (see {@link PooledBuffer}). The pool
 * counts the buffers that are out; {@link #leakReport()} lists them, with the stack of their acquisition
 * when leak detection is on, and tests assert it is empty.
 */
public final class BufferPool implements AutoCloseable {
  static final int MIN_BUFFER_BYTES = 4096;

  private final int maxBufferBytes;
  private final long maxBytes;
  private final boolean trackAcquisitions;
  private final List<ConcurrentLinkedDeque<ByteBuffer>> free = new ArrayList<>();
  private final AtomicLong allocatedBytes = new AtomicLong();
  private final Map<PooledBuffer, Boolean> outstanding = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private volatile Consumer<ByteBuffer> freedListener = memory -> { };

  /**
   * @param maxBufferBytes largest buffer handed out, a power of two of at least 4096
   * @param maxBytes budget for all buffers of this pool, lent out or cached
   * @param trackAcquisitions record the acquiring stack of each buffer for leak reports
   */
  public BufferPool(int maxBufferBytes, long maxBytes, boolean trackAcquisitions) {
    if (maxBufferBytes < MIN_BUFFER_BYTES || Integer.bitCount(maxBufferBytes) != 1) {
      throw new IllegalArgumentException("maxBufferBytes must be a power of two >= " + MIN_BUFFER_BYTES);
    }
    this.maxBufferBytes = maxBufferBytes;
    this.maxBytes = maxBytes;
    this.trackAcquisitions = trackAcquisitions;
    int classes = Integer.numberOfTrailingZeros(maxBufferBytes)
        - Integer.numberOfTrailingZeros(MIN_BUFFER_BYTES) + 1;
    for (int i = 0; i < classes; i++) {
      free.add(new ConcurrentLinkedDeque<>());
    }
  }

  /** The largest buffer this pool hands out; larger regions are read in pieces of this size. */
  public int maxBufferBytes() {
    return maxBufferBytes;
  }

  /**
   * Lends a buffer of at least {@code size} bytes.
   *
   * @throws ResourceFullException when the budget is spent on buffers that are lent out
   */
  public PooledBuffer acquire(int size) throws ResourceFullException {
    if (closed) {
      throw new IllegalStateException("buffer pool is closed");
    }
    if (size <= 0 || size > maxBufferBytes) {
      throw new IllegalArgumentException("buffer of " + size + " bytes asked for; the pool lends 1.."
          + maxBufferBytes + " bytes (read larger regions in pieces)");
    }
    int sizeClass = sizeClass(size);
    ByteBuffer memory = free.get(sizeClass).pollFirst();
    if (memory == null) {
      memory = allocate(MIN_BUFFER_BYTES << sizeClass);
    }
    PooledBuffer buffer = new PooledBuffer(this, memory,
        trackAcquisitions ? new Throwable("acquired here") : null);
    outstanding.put(buffer, Boolean.TRUE);
    return buffer;
  }

  /**
   * Tells {@code listener} about each buffer's memory that this pool lets go of (evicted from the cache,
   * or dropped when the pool is closed), so that a tier that registered the memory with a device can
   * deregister it before the memory is reclaimed.
   */
  public void onMemoryFreed(Consumer<ByteBuffer> listener) {
    this.freedListener = listener;
  }

  /** Buffers lent out and not yet released. */
  public int outstandingBuffers() {
    return outstanding.size();
  }

  /** Bytes allocated by this pool, lent out or cached. */
  public long allocatedBytes() {
    return allocatedBytes.get();
  }

  /** A description of every buffer still lent out, empty when there is none. */
  public String leakReport() {
    StringBuilder sb = new StringBuilder();
    for (PooledBuffer b : outstanding.keySet()) {
      sb.append("leaked buffer of ").append(b.capacity()).append(" bytes, refCnt ").append(b.refCnt());
      if (b.acquiredAt() != null) {
        StringWriter w = new StringWriter();
        b.acquiredAt().printStackTrace(new PrintWriter(w));
        sb.append(": ").append(w);
      } else {
        sb.append(" (enable vrdma.transport.pool.leakDetection to see where it was acquired)\n");
      }
    }
    return sb.toString();
  }

  void recycle(PooledBuffer buffer) {
    outstanding.remove(buffer);
    if (closed) {
      allocatedBytes.addAndGet(-buffer.capacity());
      freedListener.accept(buffer.memory());
      return;
    }
    free.get(sizeClass(buffer.capacity())).offerFirst(buffer.memory());
  }

  /** Drops cached buffers; buffers still lent out stay valid until released. */
  @Override
  public void close() {
    closed = true;
    for (ConcurrentLinkedDeque<ByteBuffer> list : free) {
      ByteBuffer b;
      while ((b = list.pollFirst()) != null) {
        allocatedBytes.addAndGet(-b.capacity());
        freedListener.accept(b);
      }
    }
  }

  private ByteBuffer allocate(int bytes) throws ResourceFullException {
    while (true) {
      long now = allocatedBytes.get();
      if (now + bytes <= maxBytes) {
        if (allocatedBytes.compareAndSet(now, now + bytes)) {
          return ByteBuffer.allocateDirect(bytes);
        }
        continue;
      }
      if (!evictCached()) {
        throw new ResourceFullException("buffer pool full: " + now + " of " + maxBytes
            + " bytes lent out, " + bytes + " more asked for (raise vrdma.transport.pool.maxBytes)");
      }
    }
  }

  /** Frees one cached buffer of any size class to make room; false when nothing is cached. */
  private boolean evictCached() {
    for (int i = free.size() - 1; i >= 0; i--) {
      ByteBuffer b = free.get(i).pollLast();
      if (b != null) {
        allocatedBytes.addAndGet(-b.capacity());
        freedListener.accept(b);
        return true;
      }
    }
    return false;
  }

  private static int sizeClass(int size) {
    int rounded = Math.max(MIN_BUFFER_BYTES, Integer.highestOneBit(size - 1) << 1);
    return Integer.numberOfTrailingZeros(rounded) - Integer.numberOfTrailingZeros(MIN_BUFFER_BYTES);
  }
}
