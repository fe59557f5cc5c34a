package io.vrdma.transport.shm;

import io.vrdma.transport.TransportException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A run of chunks in a {@link SharedArena}, owned by the attachment that allocated it. The owner fills
 * {@link #writableBuffer()}, then {@link #publish() publishes} the region; from then on any process
 * attached to the arena reads it with the region's owner, address, key and length (its descriptor).
 * Closing frees the chunks; reads with the old descriptor fail from then on.
 *
 * <p>Readers in any thread or process may race with {@link #close()}. The owner must not publish a region
 * while closing it: a publish that lands after the chunks were reused by the same attachment would label
 * the new region with this region's key.
 */
public final class ArenaRegion implements AutoCloseable {
  private final SharedArena arena;
  private final int firstChunk;
  private final int chunkCount;
  private final long length;
  private final long key;
  private final AtomicBoolean closed = new AtomicBoolean();

  ArenaRegion(SharedArena arena, int firstChunk, int chunkCount, long length, long key) {
    this.arena = arena;
    this.firstChunk = firstChunk;
    this.chunkCount = chunkCount;
    this.length = length;
    this.key = key;
  }

  /** Byte offset of the region's first byte in the arena file; the descriptor's address. */
  public long address() {
    return arena.chunkAddress(firstChunk);
  }

  /** The region's random nonzero key, which a reader must present; unique per allocation. */
  public long key() {
    return key;
  }

  /** The owner token of the attachment that allocated the region ({@link SharedArena#token()}). */
  public long owner() {
    return arena.token();
  }

  /** Bytes in the region (the chunks behind it may hold a few more, which nobody reads). */
  public long length() {
    return length;
  }

  /**
   * A buffer over exactly the region's bytes, position 0 and limit {@link #length()}, for the owner to
   * fill before {@link #publish()}. Each call returns a new view of the same memory.
   *
   * @throws IllegalStateException when the region or its arena is closed, since the chunks may then
   *     belong to another process
   */
  public ByteBuffer writableBuffer() {
    if (closed.get() || arena.isClosed()) {
      throw new IllegalStateException("shm region " + Long.toHexString(key) + " is closed");
    }
    return arena.slice(firstChunk, length);
  }

  /**
   * Makes the region readable by other processes: writes its key into its chunk entries with release
   * semantics, so that whatever was written into {@link #writableBuffer()} before is visible to a reader
   * that sees the key. Publishing twice is harmless.
   *
   * @throws IllegalStateException when the region is closed
   * @throws TransportException when the arena is closed or this process was evicted and lost the chunks
   */
  public void publish() throws TransportException {
    if (closed.get()) {
      throw new IllegalStateException("shm region " + Long.toHexString(key) + " is closed");
    }
    arena.publish(firstChunk, chunkCount, key);
  }

  /** Frees the region: clears its keys first, so that readers fail, then gives the chunks back. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      arena.free(firstChunk, chunkCount, key);
    }
  }

  /** For logs: the descriptor fields. */
  @Override
  public String toString() {
    return "ArenaRegion[owner " + Long.toHexString(owner()) + ", address " + address() + ", key "
        + Long.toHexString(key) + ", " + length + " bytes]";
  }
}
