package io.vrdma.transport.shm;

import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.ResourceFullException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The chunk table and the allocator over it. Each chunk's entry holds its owner's token (0 = free) and the
 * key of the region it belongs to (0 = not published). A region is a run of chunks whose owner words hold
 * one token, within one data window. Processes claim chunks by compare-and-set of the owner word; a key is
 * written after the data (release) and cleared before the owner, so a reader that sees a key sees the data
 * of that region, and a freed chunk is unreadable before it can be reused.
 */
final class ChunkTable {
  private final Path path;
  private final ByteBuffer memory;
  private final ArenaLayout layout;
  private final int chunksPerWindow;
  private final AtomicInteger searchHint = new AtomicInteger();

  ChunkTable(Path path, ByteBuffer memory, ArenaLayout layout, int chunksPerWindow) {
    this.path = path;
    this.memory = memory;
    this.layout = layout;
    this.chunksPerWindow = chunksPerWindow;
  }

  long owner(int chunk) {
    return ArenaWords.get(memory, layout.ownerWord(chunk));
  }

  long key(int chunk) {
    return ArenaWords.get(memory, layout.keyWord(chunk));
  }

  /**
   * Claims {@code count} free chunks in a row for {@code token}, first-fit from a rotating hint so that
   * concurrent allocators start in different places. A run never crosses a window boundary.
   *
   * @return the first chunk, or -1 when no run is free
   */
  int claimRun(long token, int count) {
    int chunkCount = layout.chunkCount;
    int start = Math.floorMod(searchHint.get(), chunkCount);
    int scanned = 0;
    while (scanned < chunkCount) {
      int i = (start + scanned) % chunkCount;
      int windowEnd = (int) Math.min(chunkCount, ((long) i / chunksPerWindow + 1) * chunksPerWindow);
      if (i + count > windowEnd) {
        scanned += windowEnd - i; // a run can neither cross a window nor wrap past the end: go on at the next
        continue;
      }
      int busy = -1;
      for (int c = i; c < i + count; c++) {
        if (owner(c) != 0) {
          busy = c;
          break;
        }
      }
      if (busy >= 0) {
        scanned += busy - i + 1; // no run starting at or before the busy chunk can include it
        continue;
      }
      int claimed = 0;
      while (claimed < count && ArenaWords.compareAndSet(memory, layout.ownerWord(i + claimed), 0L, token)) {
        claimed++;
      }
      if (claimed == count) {
        searchHint.set((i + count) % chunkCount);
        return i;
      }
      // Lost a chunk to a concurrent allocator: give back what was taken and search past the lost one.
      for (int c = i + claimed - 1; c >= i; c--) {
        ArenaWords.put(memory, layout.ownerWord(c), 0L);
      }
      scanned += claimed + 1;
    }
    return -1;
  }

  /** Clears the keys of freshly claimed chunks, in case a stalled process left a stray key behind. */
  void clearKeys(int firstChunk, int count) {
    for (int c = firstChunk; c < firstChunk + count; c++) {
      ArenaWords.put(memory, layout.keyWord(c), 0L);
    }
  }

  /** Whether every chunk of the run still belongs to {@code token}. */
  boolean ownsAll(long token, int firstChunk, int count) {
    for (int c = firstChunk; c < firstChunk + count; c++) {
      if (owner(c) != token) {
        return false;
      }
    }
    return true;
  }

  /**
   * Writes the region key into its chunks. Release semantics: the owner's data writes become visible no
   * later than the key.
   *
   * @throws TransportException when a chunk carries another key, because the region was reclaimed
   */
  void publish(int firstChunk, int count, long key) throws TransportException {
    for (int c = firstChunk; c < firstChunk + count; c++) {
      if (!ArenaWords.compareAndSet(memory, layout.keyWord(c), 0L, key) && key(c) != key) {
        throw new TransportException("shm arena " + path + ": chunk " + c + " of region "
            + Long.toHexString(key) + " carries another key; the region was reclaimed");
      }
    }
  }

  /** Frees a region's chunks: every key first, so readers fail before any chunk can be reused. */
  void free(long token, int firstChunk, int count, long key) {
    for (int c = firstChunk; c < firstChunk + count; c++) {
      ArenaWords.compareAndSet(memory, layout.keyWord(c), key, 0L);
    }
    for (int c = firstChunk; c < firstChunk + count; c++) {
      ArenaWords.compareAndSet(memory, layout.ownerWord(c), token, 0L);
    }
  }

  /** Frees every chunk of {@code owner}; returns how many. */
  int freeChunksOf(long owner) {
    int freed = 0;
    for (int c = 0; c < layout.chunkCount; c++) {
      if (freeChunk(c, owner)) {
        freed++;
      }
    }
    return freed;
  }

  /** Frees a chunk if {@code owner} owns it: key first so readers fail, then the owner word. */
  boolean freeChunk(int c, long owner) {
    if (owner(c) != owner) {
      return false;
    }
    long key = key(c);
    if (owner(c) != owner) {
      return false;
    }
    if (key != 0) {
      // Only this key: had the chunk changed hands meanwhile, its new key is not ours to clear.
      ArenaWords.compareAndSet(memory, layout.keyWord(c), key, 0L);
    }
    return ArenaWords.compareAndSet(memory, layout.ownerWord(c), owner, 0L);
  }

  /** The tokens owning at least one chunk right now. */
  Set<Long> owners() {
    Set<Long> owners = new HashSet<>();
    for (int c = 0; c < layout.chunkCount; c++) {
      long owner = owner(c);
      if (owner != 0) {
        owners.add(owner);
      }
    }
    return owners;
  }

  /** Chunks no process owns right now; a snapshot that other processes may change at once. */
  int freeChunks() {
    int free = 0;
    for (int c = 0; c < layout.chunkCount; c++) {
      if (owner(c) == 0) {
        free++;
      }
    }
    return free;
  }

  /** The report of a failed allocation: free space, in how many runs, and the largest run within a window. */
  ResourceFullException full(long length) {
    int free = 0;
    int runs = 0;
    int largest = 0;
    int run = 0;
    for (int c = 0; c < layout.chunkCount; c++) {
      if (c % chunksPerWindow == 0) {
        run = 0; // a window boundary ends a run: no region can span it
      }
      if (owner(c) == 0) {
        free++;
        run++;
        if (run == 1) {
          runs++;
        }
        largest = Math.max(largest, run);
      } else {
        run = 0;
      }
    }
    return new ResourceFullException("shm arena " + path + " full: " + length + " bytes asked, "
        + (long) free * layout.chunkBytes + " bytes free in " + runs + " runs (largest "
        + (long) largest * layout.chunkBytes + " bytes) of " + layout.dataBytes() + "; free regions or use"
        + " another tier");
  }
}
