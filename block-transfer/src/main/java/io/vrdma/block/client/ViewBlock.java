package io.vrdma.block.client;

import io.vrdma.transport.RegionView;
import io.vrdma.transport.TransportException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * A block read in place from the peer's shm arena, never copied into a receive buffer: a stretch of a view of its
 * run. Its stream checks at its end (or when closed, whichever comes first) that the region is still the one it
 * was opened on, so a region freed while it was read (its shuffle dropped, its owner died and was reclaimed) ends
 * the stream with an {@link IOException} instead of passing another region's bytes off as the block's.
 */
final class ViewBlock extends RefCounted {
  private final RegionView view;
  private final int offset;
  private final int length;
  private final Runnable onRelease;

  /** @param onRelease runs once when the last reference goes: the reader is done with the bytes in place */
  ViewBlock(String blockId, RegionView view, int offset, int length, Runnable onRelease) {
    super(blockId);
    this.view = view;
    this.offset = offset;
    this.length = length;
    this.onRelease = onRelease;
  }

  @Override
  public long size() {
    return length;
  }

  /** The bytes in place; checked when asked for, so use them at once (the stream checks after use too). */
  @Override
  public ByteBuffer nioByteBuffer() throws IOException {
    checkStillValid();
    return bytes();
  }

  @Override
  public InputStream createInputStream() {
    return new BufferInputStream(bytes(), this::checkStillValid);
  }

  /** The bytes without the validity check: for a reader that checks after it read them. */
  ByteBuffer bytesUnchecked() {
    return bytes();
  }

  private ByteBuffer bytes() {
    return view.buffer().position(offset).limit(offset + length).slice();
  }

  RegionView view() {
    return view;
  }

  int offset() {
    return offset;
  }

  /** Throws when the region was freed since the view was made: the bytes read through it are not the block's. */
  void checkStillValid() throws IOException {
    try {
      view.checkValid();
    } catch (TransportException e) {
      throw new IOException("block " + blockId() + " changed while it was read in place: " + e.getMessage(), e);
    }
  }

  @Override
  void deallocate() {
    // the bytes are the peer's: tell it they may go
    onRelease.run();
  }
}
