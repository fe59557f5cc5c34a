package io.vrdma.transport.shm;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the kernel back every page of the data area by reading one byte of each. On tmpfs the first touch
 * of a page allocates and zeroes it, which costs about twice as much as copying a page's worth of shuffle
 * bytes into it; done up front, that cost leaves the map tasks' path, and a file system too small for the
 * arena shows at once rather than as a failed registration later. Reading, unlike writing, cannot disturb
 * what other processes write meanwhile.
 */
final class ArenaPreallocator {
  // The arena's logger, so that operators' log settings for the arena cover every part of it.
  private static final Logger LOG = LoggerFactory.getLogger(SharedArena.class);

  /** Smallest page the kernel backs a mapping with; touching one byte per page backs the whole mapping. */
  private static final int PAGE_BYTES = 4096;

  /** Where {@link #touch} leaves what it read, so that the compiler keeps the reads. */
  @SuppressWarnings("unused")
  private static volatile long touchSink;

  private ArenaPreallocator() {}

  /**
   * Touches every page of every window in order, stopping early when {@code stop} says so.
   *
   * @return the bytes touched, from the start of the data area
   */
  static long touch(Path path, ArenaMapping mapping, long dataBytes, BooleanSupplier stop) {
    long t0 = System.nanoTime();
    long touched = 0;
    long sum = 0;
    try {
      for (int w = 0; w < mapping.windowCount() && !stop.getAsBoolean(); w++) {
        ByteBuffer window = mapping.window(w);
        int capacity = window.capacity();
        for (int at = 0; at < capacity && !stop.getAsBoolean(); at += PAGE_BYTES) {
          sum += window.get(at);
          touched += Math.min(PAGE_BYTES, capacity - at);
        }
      }
    } catch (InternalError e) {
      // the JVM's report of SIGBUS: the file system ran out of pages for the arena
      LOG.warn("shm arena {}: only {} MiB of {} MiB could be backed by memory, its file system is full ({});"
          + " registrations beyond that fail and go to the other tiers", path, touched >> 20, dataBytes >> 20,
          e.getMessage());
      return touched;
    }
    touchSink = sum;
    LOG.info("shm arena {}: {} MiB backed by memory in {} ms", path, touched >> 20,
        (System.nanoTime() - t0) / 1_000_000);
    return touched;
  }
}
