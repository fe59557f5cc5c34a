package io.vrdma.block.client;

import java.nio.ByteBuffer;

/**
 * A block whose bytes came in the locate answer itself (a small run): a stretch of the reader's own heap copy of
 * them, which the blocks of one run share. Nothing to give back: release only ends its use.
 */
final class InlineBlock extends SliceBlock {
  private final ByteBuffer run;

  InlineBlock(String blockId, ByteBuffer run, int offset, int length) {
    super(blockId, offset, length);
    this.run = run;
  }

  @Override
  Object backing() {
    return run;
  }

  @Override
  ByteBuffer bytes(int offset, int length) {
    return run.duplicate().position(offset).limit(offset + length).slice();
  }

  @Override
  SliceBlock widened(String blockId, int offset, int length) {
    return new InlineBlock(blockId, run, offset, length);
  }

  @Override
  void deallocate() {
    // the bytes are on the heap: the garbage collector takes them with the last block
  }
}
