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
    return new BufferInputStream(nioByteBuffer(), () -> { });
  }

  @Override
  void deallocate() {
    buffer.release();
  }
}
