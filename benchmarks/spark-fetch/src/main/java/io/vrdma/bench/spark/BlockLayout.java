package io.vrdma.bench.spark;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the blocks of one run lie: {@code blocks} blocks of {@code blockBytes} bytes in shuffle-like data
 * files, each file one map output holding {@code blocksPerFile} consecutive reduce blocks. Block {@code i} is
 * Spark's {@code shuffle_0_<map>_<reduce>} with {@code map = i / blocksPerFile}, {@code reduce = i %
 * blocksPerFile}; both servers serve the very same files under the very same ids.
 */
record BlockLayout(int blockBytes, int blocks, int blocksPerFile) {
  /** Data files of at most this many bytes (64 MiB, a large map output). */
  static final long FILE_BYTES = 64L << 20;

  static BlockLayout of(int blockBytes, int blocks) {
    int perFile = (int) Math.max(1, Math.min(blocks, FILE_BYTES / blockBytes));
    return new BlockLayout(blockBytes, blocks, perFile);
  }

  int files() {
    return (blocks + blocksPerFile - 1) / blocksPerFile;
  }

  /** Blocks in data file {@code map} (the last file may hold fewer). */
  int blocksIn(int map) {
    return Math.min(blocksPerFile, blocks - map * blocksPerFile);
  }

  long totalBytes() {
    return (long) blockBytes * blocks;
  }

  static String blockId(int map, int reduce) {
    return "shuffle_0_" + map + "_" + reduce;
  }

  List<String> blockIds() {
    List<String> ids = new ArrayList<>(blocks);
    for (int i = 0; i < blocks; i++) {
      ids.add(blockId(i / blocksPerFile, i % blocksPerFile));
    }
    return ids;
  }

  Path file(Path dir, int map) {
    return dir.resolve("shuffle_0_" + map + "_0.data");
  }

  /** Writes the data files (pseudo-random bytes, so nothing downstream can shortcut on zeros). */
  void write(Path dir) throws IOException {
    ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
    long seed = 0x9E3779B97F4A7C15L;
    while (chunk.remaining() >= Long.BYTES) {
      seed ^= seed << 13;
      seed ^= seed >>> 7;
      seed ^= seed << 17;
      chunk.putLong(seed);
    }
    for (int map = 0; map < files(); map++) {
      long length = (long) blocksIn(map) * blockBytes;
      try (FileChannel out = FileChannel.open(file(dir, map), StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        long done = 0;
        while (done < length) {
          chunk.clear().limit((int) Math.min(chunk.capacity(), length - done));
          while (chunk.hasRemaining()) {
            done += out.write(chunk, done);
          }
        }
      }
    }
  }
}
