package io.vrdma.block.client;

import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * A block that is a stretch of a buffer other blocks of its run may share: a pooled receive buffer
 * ({@link BufferBlock}) or the reader's heap copy of an inline run ({@link InlineBlock}). Neighbouring stretches of
 * one buffer can be joined without a copy ({@link FetchedBlocks#joinInPlace}).
 */
abstract class SliceBlock extends RefCounted {
  private final int offset;
  private final int length;

  SliceBlock(String blockId, int offset, int length) {
    super(blockId);
    this.offset = offset;
    this.length = length;
  }

  /** The buffer the block is a stretch of; blocks of one run share it. */
  abstract Object backing();

  /** {@code length} bytes of the backing buffer from {@code offset}. */
  abstract ByteBuffer bytes(int offset, int length);

  /** The same kind of block over {@code length} bytes of the same buffer from {@code offset}, with its own hold. */
  abstract SliceBlock widened(String blockId, int offset, int length);

  @Override
  public long size() {
    return length;
  }

  int offset() {
    return offset;
  }

  @Override
  public ByteBuffer nioByteBuffer() {
    return bytes(offset, length).asReadOnlyBuffer();
  }

  @Override
  public InputStream createInputStream() {
    return new BufferInputStream(nioByteBuffer(), () -> { });
  }

  /** Whether {@code next} is the stretch right after this one in the same buffer. */
  boolean isFollowedBy(SliceBlock next) {
    return backing() == next.backing() && offset + length == next.offset;
  }
}
