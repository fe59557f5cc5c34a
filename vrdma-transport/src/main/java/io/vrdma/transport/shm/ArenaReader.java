package io.vrdma.transport.shm;

import io.vrdma.transport.RegionView;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.RegionNotFoundException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;

/**
 * Reads of published regions by descriptor (owner, address, key, length), which may come from any peer and
 * are checked before any byte is touched. A read validates owner and key of every chunk it touches, copies,
 * and validates again: a region freed and reused during the copy is reported as gone, never delivered as
 * data. Views skip the copy and leave the second check to the caller ({@link RegionView#checkValid()}).
 */
final class ArenaReader {
  private final Path path;
  private final ArenaLayout layout;
  private final ArenaMapping mapping;
  private final ChunkTable chunks;
  private final BooleanSupplier closed;

  ArenaReader(Path path, ArenaLayout layout, ArenaMapping mapping, ChunkTable chunks, BooleanSupplier closed) {
    this.path = path;
    this.layout = layout;
    this.mapping = mapping;
    this.chunks = chunks;
    this.closed = closed;
  }

  /** See {@link SharedArena#copyOut}. */
  void copyOut(long owner, long address, long key, long regionLength, long offset, int length, ByteBuffer dst,
      int dstOffset) throws TransportException {
    long src = validate(owner, address, key, regionLength, offset, length);
    if (dstOffset < 0 || length > dst.limit() - dstOffset) {
      throw new IllegalArgumentException("shm read of " + length + " bytes does not fit at index " + dstOffset
          + " of a buffer with limit " + dst.limit());
    }
    if (length == 0) {
      return;
    }
    int w = mapping.windowOf((int) (src / layout.chunkBytes));
    dst.put(dstOffset, mapping.window(w), mapping.offsetInWindow(w, src), length);
    // The data loads above must not drift below the loads of the second check.
    VarHandle.acquireFence();
    checkChunks(owner, address, key, src, length);
  }

  /** See {@link SharedArena#readOnlySlice}. */
  ByteBuffer readOnlySlice(long owner, long address, long key, long regionLength, long offset, int length)
      throws TransportException {
    long src = validate(owner, address, key, regionLength, offset, length);
    return mapping.slice(src, length).asReadOnlyBuffer();
  }

  /** See {@link SharedArena#view}. */
  RegionView view(long owner, long address, long key, long regionLength, long offset, int length)
      throws TransportException {
    long src = validate(owner, address, key, regionLength, offset, length);
    ByteBuffer window = mapping.slice(src, length).asReadOnlyBuffer();
    return new RegionView() {
      @Override
      public int length() {
        return length;
      }

      @Override
      public ByteBuffer buffer() {
        return window.duplicate();
      }

      @Override
      public void checkValid() throws TransportException {
        // the reader's loads of the bytes must not drift below the loads of this check
        VarHandle.acquireFence();
        if (closed.getAsBoolean()) {
          throw new TransportException("shm arena " + path + " is closed");
        }
        if (length > 0) {
          checkChunks(owner, address, key, src, length);
        }
      }
    };
  }

  /**
   * Checks a read against the descriptor and the chunk table.
   *
   * @return the position of its first byte in the data area
   */
  private long validate(long owner, long address, long key, long regionLength, long offset, int length)
      throws TransportException {
    if (closed.getAsBoolean()) {
      throw new TransportException("shm arena " + path + " is closed");
    }
    if (regionLength < 0 || offset < 0 || length < 0 || offset > regionLength - length) {
      throw new InvalidDescriptorException("shm read of " + length + " bytes at offset " + offset
          + " is outside its region of " + regionLength + " bytes");
    }
    if (owner == 0 || key == 0) {
      throw new InvalidDescriptorException("shm descriptor with owner " + Long.toHexString(owner) + " and key "
          + Long.toHexString(key) + ": neither may be 0");
    }
    long dataBytes = layout.dataBytes();
    long relative = address - layout.dataOffset;
    if (relative < 0 || relative >= dataBytes || relative % layout.chunkBytes != 0
        || regionLength > dataBytes - relative) {
      throw new InvalidDescriptorException("descriptor points outside the arena: region at " + address + " of "
          + regionLength + " bytes, but regions start at chunk boundaries in [" + layout.dataOffset + ", "
          + (layout.dataOffset + dataBytes) + ") with chunks of " + layout.chunkBytes + " bytes in " + path);
    }
    if (regionLength > 0 && mapping.windowOf((int) (relative / layout.chunkBytes))
        != mapping.windowOf((int) ((relative + regionLength - 1) / layout.chunkBytes))) {
      // No allocator made this region: regions stay within one window, which is what lets a read be one buffer.
      throw new InvalidDescriptorException("shm descriptor of a region at " + address + " of " + regionLength
          + " bytes crosses a window of " + (long) mapping.chunksPerWindow() * layout.chunkBytes + " bytes in "
          + path + ", which no region does");
    }
    long src = relative + offset;
    if (length > 0) {
      checkChunks(owner, address, key, src, length);
    }
    return src;
  }

  /** Every chunk under [src, src + length) of the data area must belong to owner and carry key. */
  private void checkChunks(long owner, long address, long key, long src, int length) throws TransportException {
    int first = (int) (src / layout.chunkBytes);
    int last = (int) ((src + length - 1) / layout.chunkBytes);
    for (int c = first; c <= last; c++) {
      long chunkOwner = chunks.owner(c);
      long chunkKey = chunks.key(c);
      if (chunkOwner == 0) {
        throw notFound(owner, address, key);
      }
      if (chunkOwner != owner) {
        throw new InvalidDescriptorException("shm descriptor of owner " + Long.toHexString(owner) + " at "
            + address + " reads chunk " + c + " of owner " + Long.toHexString(chunkOwner)
            + ": outside its owner's space");
      }
      if (chunkKey != key) {
        throw notFound(owner, address, key);
      }
    }
  }

  private RegionNotFoundException notFound(long owner, long address, long key) {
    return new RegionNotFoundException("shm region " + Long.toHexString(key) + " of owner "
        + Long.toHexString(owner) + " at " + address + " in " + path + ": region freed or never published");
  }
}
