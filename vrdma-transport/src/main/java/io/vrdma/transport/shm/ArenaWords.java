package io.vrdma.transport.shm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Atomic access to the 8-byte words of an arena mapping. Processes (and VMs) sharing an arena agree only
 * through these operations, so every word is little-endian and 8-byte aligned: that is what a hex dump
 * shows and what a compare-and-set on the shared page requires. Indexes are byte offsets into one
 * {@link ByteBuffer}, so a word must lie in a mapping of at most 2 GiB - 1, which is why the header and
 * tables are mapped as one buffer apart from the data windows.
 */
final class ArenaWords {
  private static final VarHandle LONG =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private ArenaWords() {}

  /** Acquire load, so that the bytes another process wrote before releasing this word are visible after it. */
  static long get(ByteBuffer memory, int index) {
    return (long) LONG.getAcquire(memory, index);
  }

  /** Release store, so that whatever this process wrote before is visible to whoever acquires the word. */
  static void put(ByteBuffer memory, int index, long value) {
    LONG.setRelease(memory, index, value);
  }

  /** Compare-and-set with volatile semantics. */
  static boolean compareAndSet(ByteBuffer memory, int index, long expected, long value) {
    return LONG.compareAndSet(memory, index, expected, value);
  }
}
