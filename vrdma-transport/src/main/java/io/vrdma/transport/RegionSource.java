package io.vrdma.transport;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/** Memory a node can register so that peers read it: a segment of a file, or a buffer. */
public sealed interface RegionSource {
  /** Bytes in the region. */
  long length();

  /** A segment of a file that is written once and then only read, as shuffle files are. */
  static RegionSource fileSegment(Path file, long offset, long length) {
    return new FileSegment(file, offset, length);
  }

  /** The remaining bytes of a buffer, which the caller must leave unchanged while registered. */
  static RegionSource buffer(ByteBuffer buffer) {
    return new BufferRegion(buffer.slice().asReadOnlyBuffer());
  }

  /** A file segment. */
  record FileSegment(Path file, long offset, long length) implements RegionSource {
    public FileSegment {
      if (offset < 0 || length < 0) {
        throw new IllegalArgumentException("file segment with negative offset or length: "
            + file + " [" + offset + ", +" + length + ")");
      }
    }
  }

  /** A buffer, read-only, its position at the region's start. */
  record BufferRegion(ByteBuffer buffer) implements RegionSource {
    @Override
    public long length() {
      return buffer.remaining();
    }
  }
}
