package io.vrdma.block.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * A block's bytes as a stream, with one check run when the reader reaches the end or closes the stream, whichever
 * comes first: the place where a block read in place learns whether what it read was still the block.
 */
final class BufferInputStream extends InputStream {
  /** What to verify once the bytes have been used. */
  @FunctionalInterface
  interface EndCheck {
    void check() throws IOException;
  }

  private final ByteBuffer bytes;
  private final EndCheck endCheck;
  private boolean checked;

  BufferInputStream(ByteBuffer bytes, EndCheck endCheck) {
    this.bytes = bytes;
    this.endCheck = endCheck;
  }

  @Override
  public int read() throws IOException {
    return bytes.hasRemaining() ? bytes.get() & 0xff : atEnd();
  }

  @Override
  public int read(byte[] dst, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (!bytes.hasRemaining()) {
      return atEnd();
    }
    int n = Math.min(len, bytes.remaining());
    bytes.get(dst, off, n);
    return n;
  }

  @Override
  public int available() {
    return bytes.remaining();
  }

  /** Readers that stop before the end (a codec that knows its last frame) still run the check on closing. */
  @Override
  public void close() throws IOException {
    atEnd();
  }

  private int atEnd() throws IOException {
    if (!checked) {
      endCheck.check();
      checked = true;
    }
    return -1;
  }
}
