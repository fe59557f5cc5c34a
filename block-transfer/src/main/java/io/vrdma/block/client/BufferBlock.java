package io.vrdma.block.client;

import io.vrdma.transport.buffer.PooledBuffer;
import java.io.InputStream;
import java.nio.ByteBuffer;

/** A block held in (a stretch of) a pooled receive buffer; blocks cut from one run's buffer share it. */
final class BufferBlock extends RefCounted {
  private final PooledBuffer buffer;
  private final int offset;
  private final int length;

  /** Takes over one reference on {@code buffer}, released with the block's last. */
  BufferBlock(String blockId, PooledBuffer buffer, int offset, int length) {
    super(blockId);
    this.buffer = buffer;
    this.offset = offset;
    this.length = length;
  }

  @Override
  public long size() {
    return length;
  }

  @Override
  public ByteBuffer nioByteBuffer() {
    return buffer.nioBuffer(offset, length).asReadOnlyBuffer();
  }

  @Override
  public InputStream createInputStream() {
    return new BufferInputStream(nioByteBuffer(), () -> { });
  }

  /** The buffer and stretch, so that adjacent blocks of one buffer can be joined without a copy. */
  PooledBuffer buffer() {
    return buffer;
  }

  int offset() {
    return offset;
  }

  @Override
  void deallocate() {
    buffer.release();
  }
}
