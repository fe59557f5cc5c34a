package io.vrdma.block.client;

import io.vrdma.transport.buffer.PooledBuffer;
import java.io.InputStream;
import java.nio.ByteBuffer;

/** A block held in a pooled receive buffer. */
final class BufferBlock extends RefCounted {
  private final PooledBuffer buffer;
  private final int length;

  BufferBlock(String blockId, PooledBuffer buffer, int length) {
    super(blockId);
    this.buffer = buffer;
    this.length = length;
  }

  @Override
  public long size() {
    return length;
  }

  @Override
  public ByteBuffer nioByteBuffer() {
    return buffer.nioBuffer(0, length).asReadOnlyBuffer();
  }

  @Override
  public InputStream createInputStream() {
    ByteBuffer b = nioByteBuffer();
    return new InputStream() {
      @Override
      public int read() {
        return b.hasRemaining() ? b.get() & 0xff : -1;
      }

      @Override
      public int read(byte[] dst, int off, int len) {
        if (!b.hasRemaining()) {
          return len == 0 ? 0 : -1;
        }
        int n = Math.min(len, b.remaining());
        b.get(dst, off, n);
        return n;
      }

      @Override
      public int available() {
        return b.remaining();
      }
    };
  }

  @Override
  void deallocate() {
    buffer.release();
  }
}
