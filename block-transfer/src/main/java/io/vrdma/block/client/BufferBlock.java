package io.vrdma.block.client;

import io.vrdma.transport.buffer.PooledBuffer;
import java.nio.ByteBuffer;

/** A block held in (a stretch of) a pooled receive buffer; blocks cut from one run's buffer share it. */
final class BufferBlock extends SliceBlock {
  private final PooledBuffer buffer;

  /** Takes over one reference on {@code buffer}, released with the block's last. */
  BufferBlock(String blockId, PooledBuffer buffer, int offset, int length) {
    super(blockId, offset, length);
    this.buffer = buffer;
  }

  @Override
  Object backing() {
    return buffer;
  }

  @Override
  ByteBuffer bytes(int offset, int length) {
    return buffer.nioBuffer(offset, length);
  }

  @Override
  SliceBlock widened(String blockId, int offset, int length) {
    return new BufferBlock(blockId, buffer.retain(), offset, length);
  }

  @Override
  void deallocate() {
    buffer.release();
  }
}
