package io.vrdma.block.client;

import java.util.concurrent.atomic.AtomicInteger;

/** The reference count shared by the kinds of {@link FetchedBlock}; the last release frees the block. */
abstract class RefCounted implements FetchedBlock {
  private final String blockId;
  private final AtomicInteger refCnt = new AtomicInteger(1);

  RefCounted(String blockId) {
    this.blockId = blockId;
  }

  @Override
  public String blockId() {
    return blockId;
  }

  /** Frees what the block holds; called once, by the last release. */
  abstract void deallocate();

  @Override
  public FetchedBlock retain() {
    if (refCnt.getAndUpdate(n -> n <= 0 ? n : n + 1) <= 0) {
      throw new IllegalStateException("block " + blockId + " already released");
    }
    return this;
  }

  @Override
  public void release() {
    int now = refCnt.decrementAndGet();
    if (now == 0) {
      deallocate();
    } else if (now < 0) {
      refCnt.incrementAndGet();
      throw new IllegalStateException("block " + blockId + " released more often than retained");
    }
  }
}
