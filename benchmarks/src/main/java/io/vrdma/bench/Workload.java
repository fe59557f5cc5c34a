package io.vrdma.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The one shape of work every benchmark of this module does, so that a tier and its baseline move the
 * same bytes the same way.
 *
 * <ul>
 *   <li>The source is {@link #SOURCE_BYTES} of non-zero bytes: a file segment for the tiers (page cache
 *       warmed), a direct buffer for the baselines. Larger than the last-level cache, so no benchmark
 *       measures cache-to-cache copies.
 *   <li>A throughput operation moves one window of {@link #windowBytes} bytes (64 MiB, or 16 blocks when
 *       that is more) in blocks of the benchmark's size, from consecutive offsets of the source, wrapping.
 *   <li>Up to {@link #depth} blocks are in flight: 16, fewer for large blocks so that at most 64 MiB of
 *       destination buffers are used. The destinations are that many buffers allocated once and reused.
 *   <li>A latency operation moves one block and waits for it.
 * </ul>
 *
 * <p>GB/s in the report are 10^9 bytes per second: JMH's operations per second times the window bytes.
 */
public final class Workload {
  /** Bytes of the source region (file segment or buffer). */
  public static final int SOURCE_BYTES = 64 << 20;
  /** Most destination bytes in flight at once. */
  public static final int MAX_IN_FLIGHT_BYTES = 64 << 20;
  /** Most blocks in flight at once. */
  public static final int MAX_DEPTH = 16;
  /** Largest block: the transport's default largest pooled buffer. */
  public static final int MAX_BLOCK_BYTES = 16 << 20;

  private Workload() {}

  /** Bytes moved by one throughput operation. */
  public static long windowBytes(int blockBytes) {
    return Math.max(64L << 20, 16L * blockBytes);
  }

  /** Blocks moved by one throughput operation. */
  public static int blocksPerWindow(int blockBytes) {
    return (int) ((windowBytes(blockBytes) + blockBytes - 1) / blockBytes);
  }

  /** Blocks in flight at once. */
  public static int depth(int blockBytes) {
    return Math.max(2, Math.min(MAX_DEPTH, MAX_IN_FLIGHT_BYTES / blockBytes));
  }

  /** Source offset of the {@code i}-th block: consecutive, wrapping at the end of the source. */
  public static long offset(long i, int blockBytes) {
    long blocksInSource = SOURCE_BYTES / blockBytes;
    return (i % blocksInSource) * blockBytes;
  }

  /** The source's byte at {@code position}: never zero, not constant, so a read of zeros shows. */
  public static byte byteAt(long position) {
    return (byte) (1 + (position * 31 + (position >>> 12)) % 251);
  }

  /** A direct buffer holding the source bytes. */
  public static ByteBuffer sourceBuffer() {
    ByteBuffer b = ByteBuffer.allocateDirect(SOURCE_BYTES);
    for (int i = 0; i < SOURCE_BYTES; i++) {
      b.put(i, byteAt(i));
    }
    return b;
  }

  /** Writes the source bytes to {@code file}, forces them out and reads them back to warm the page cache. */
  public static Path writeSourceFile(Path file) throws IOException {
    ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        StandardOpenOption.READ)) {
      for (long pos = 0; pos < SOURCE_BYTES; pos += chunk.capacity()) {
        chunk.clear();
        for (int i = 0; i < chunk.capacity(); i++) {
          chunk.put(i, byteAt(pos + i));
        }
        while (chunk.hasRemaining()) {
          ch.write(chunk, pos + chunk.position());
        }
      }
      ch.force(false);
      for (long pos = 0; pos < SOURCE_BYTES; pos += chunk.capacity()) {
        chunk.clear();
        while (chunk.hasRemaining() && ch.read(chunk, pos + chunk.position()) > 0) {
          // page cache warm-up: the bytes are only touched
        }
      }
    }
    return file;
  }

  /**
   * Checks that {@code length} bytes of {@code dst} from its index 0 are the source's from {@code offset}.
   *
   * @throws IllegalStateException naming the first wrong byte
   */
  public static void verify(ByteBuffer dst, long offset, int length, String what) {
    for (int i = 0; i < length; i++) {
      if (dst.get(i) != byteAt(offset + i)) {
        throw new IllegalStateException(what + ": byte " + i + " of a read at offset " + offset + " is "
            + dst.get(i) + ", expected " + byteAt(offset + i));
      }
    }
  }

  /** A size as the report shows it: "4 KiB", "1 MiB", or plain bytes. */
  public static String sizeLabel(long bytes) {
    if (bytes >= (1 << 20) && bytes % (1 << 20) == 0) {
      return (bytes >> 20) + " MiB";
    }
    if (bytes >= 1024 && bytes % 1024 == 0) {
      return (bytes >> 10) + " KiB";
    }
    return bytes + " B";
  }
}
