package io.vrdma.transport.shm;

import io.vrdma.transport.TransportException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * This process's mappings of one arena: the header and tables as one buffer (the words the protocol's
 * atomic operations work on), and the data area as windows, each one {@link MappedByteBuffer} of a whole
 * number of chunks. A Java buffer holds at most 2 GiB - 1 bytes, and an IVSHMEM BAR may be 64 GiB; the
 * allocator never lets a region cross a window, so that a region is always one buffer.
 *
 * <p>Every process must cut the data area the same way, because a region allocated by one is read as one
 * buffer by another; the window size is therefore a function of the header alone ({@link #windowBytesFor}).
 * An arena of at most 2 GiB - 1 bytes is one window: that is how every earlier release mapped it, so their
 * processes and this one can share such an arena (same layout version) and agree on which regions exist.
 * A larger arena, which earlier releases refused, is cut into windows of {@link #WINDOW_BYTES}.
 *
 * <p>The mappings are never unmapped explicitly: a buffer handed out to a reader may outlive the
 * attachment, and unmapping under it would crash the JVM. They go with the last buffer that references them.
 */
final class ArenaMapping {
  /**
   * Window size of an arena larger than one buffer: a power of two, so a multiple of every chunk size
   * (chunks are powers of two of at most 1 GiB), and so the largest region such an arena can hold.
   */
  static final long WINDOW_BYTES = 1L << 30;

  private final ByteBuffer metadata;
  private final MappedByteBuffer[] windows;
  private final int chunkBytes;
  private final int chunksPerWindow;

  private ArenaMapping(ByteBuffer metadata, MappedByteBuffer[] windows, int chunkBytes, int chunksPerWindow) {
    this.metadata = metadata;
    this.windows = windows;
    this.chunkBytes = chunkBytes;
    this.chunksPerWindow = chunksPerWindow;
  }

  /** Maps the first {@link ArenaLayout#HEADER_BYTES} bytes, enough to initialise or read the header. */
  static ByteBuffer mapHeader(Path path, FileChannel channel) throws TransportException {
    return map(path, channel, 0, ArenaLayout.HEADER_BYTES);
  }

  /**
   * Maps header, tables and data area of an initialised arena.
   *
   * @param windowBytes the window size to use instead of {@link #windowBytesFor}'s, rounded down to whole
   *     chunks; 0 for the arena's own. Only for tests: every process of an arena must use the same.
   */
  static ArenaMapping map(Path path, FileChannel channel, ArenaLayout layout, long windowBytes)
      throws TransportException {
    long window = windowBytes > 0 ? Math.max(layout.chunkBytes, windowBytes / layout.chunkBytes * layout.chunkBytes)
        : windowBytesFor(layout);
    int chunksPerWindow = (int) Math.min(layout.chunkCount, window / layout.chunkBytes);
    int count = (layout.chunkCount + chunksPerWindow - 1) / chunksPerWindow;
    MappedByteBuffer[] windows = new MappedByteBuffer[count];
    for (int w = 0; w < count; w++) {
      int chunks = Math.min(chunksPerWindow, layout.chunkCount - w * chunksPerWindow);
      windows[w] = map(path, channel, layout.chunkAddress(w * chunksPerWindow), (long) chunks * layout.chunkBytes);
    }
    return new ArenaMapping(map(path, channel, 0, layout.dataOffset), windows, layout.chunkBytes, chunksPerWindow);
  }

  /** The window size every process uses for this arena; see the class comment. */
  static long windowBytesFor(ArenaLayout layout) {
    return layout.sizeBytes <= Integer.MAX_VALUE ? layout.dataBytes() : WINDOW_BYTES;
  }

  private static MappedByteBuffer map(Path path, FileChannel channel, long position, long size)
      throws TransportException {
    try {
      return channel.map(FileChannel.MapMode.READ_WRITE, position, size);
    } catch (IOException e) {
      throw new TransportException("cannot map shm arena " + path + " (" + size + " bytes at " + position + "): "
          + e, e);
    }
  }

  /** Header and tables: the words of {@link ArenaWords}, at their file offsets. */
  ByteBuffer metadata() {
    return metadata;
  }

  /** Chunks per window (the last window may hold fewer); the longest run a region may occupy. */
  int chunksPerWindow() {
    return chunksPerWindow;
  }

  int windowCount() {
    return windows.length;
  }

  /** The window holding a chunk. */
  int windowOf(int chunk) {
    return chunk / chunksPerWindow;
  }

  /** The mapping of window {@code w}, whose index 0 is the window's first chunk. */
  MappedByteBuffer window(int w) {
    return windows[w];
  }

  /**
   * A buffer over {@code length} bytes from {@code dataPosition} (bytes from the start of the data area),
   * which must lie in one window.
   */
  ByteBuffer slice(long dataPosition, int length) {
    int chunk = (int) (dataPosition / chunkBytes);
    int w = windowOf(chunk);
    return windows[w].slice(offsetInWindow(w, dataPosition), length);
  }

  /** Index in window {@code w} of a byte of the data area. */
  int offsetInWindow(int w, long dataPosition) {
    return (int) (dataPosition - (long) w * chunksPerWindow * chunkBytes);
  }
}
