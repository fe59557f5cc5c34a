package io.vrdma.block.client;

import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * A block whose bytes came in the locate answer itself (a small run): a stretch of the client's own heap copy of
 * them, which blocks of one run share. Nothing to give back: release only ends its use.
 */
final class InlineBlock extends RefCounted {
  private final ByteBuffer run;
  private final int offset;
  private final int length;

  InlineBlock(String blockId, ByteBuffer run, int offset, int length) {
    super(blockId);
    this.run = run;
    this.offset = offset;
    this.length = length;
  }

  @Override
  public long size() {
    return length;
  }

  @Override
  public ByteBuffer nioByteBuffer() {
    return run.duplicate().position(offset).limit(offset + length).slice().asReadOnlyBuffer();
  }

  @Override
  public InputStream createInputStream() {
    return new BufferInputStream(nioByteBuffer(), () -> { });
  }

  /** The run's bytes and this block's stretch of them, so that neighbours can be joined without a copy. */
  ByteBuffer run() {
    return run;
  }

  int offset() {
    return offset;
  }

  @Override
  void deallocate() {
    // the bytes are on the heap: the garbage collector takes them with the last block
  }
}
