package io.vrdma.transport.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Deterministic test bytes: any process can write a region and any other can check what it read. */
public final class Patterns {
  private Patterns() {}

  /** The byte at {@code position} of a region seeded with {@code seed}. */
  public static byte byteAt(long seed, long position) {
    long x = (position + 1) * 0x9E3779B97F4A7C15L + seed * 0xC2B2AE3D27D4EB4FL;
    return (byte) (x >>> 56);
  }

  /** Writes {@code length} pattern bytes to a new file, preceded by {@code skip} other bytes. */
  public static Path writeFile(Path file, long seed, long skip, long length) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
      long written = 0;
      long total = skip + length;
      while (written < total) {
        buf.clear();
        int n = (int) Math.min(buf.capacity(), total - written);
        for (int i = 0; i < n; i++) {
          long p = written + i;
          buf.put(p < skip ? (byte) 0x5A : byteAt(seed, p - skip));
        }
        buf.flip();
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        written += n;
      }
    }
    return file;
  }

  /** A direct buffer of pattern bytes. */
  public static ByteBuffer buffer(long seed, int length) {
    ByteBuffer b = ByteBuffer.allocateDirect(length);
    for (int i = 0; i < length; i++) {
      b.put(i, byteAt(seed, i));
    }
    return b;
  }

  /**
   * Checks {@code length} bytes of {@code actual} from {@code actualOffset} against the pattern from
   * {@code regionOffset}; returns a description of the first mismatch, or null.
   */
  public static String mismatch(long seed, long regionOffset, ByteBuffer actual, int actualOffset, int length) {
    for (int i = 0; i < length; i++) {
      byte expected = byteAt(seed, regionOffset + i);
      byte got = actual.get(actualOffset + i);
      if (expected != got) {
        return "byte " + (regionOffset + i) + " of region seeded " + seed + ": expected " + expected + ", got " + got;
      }
    }
    return null;
  }
}
