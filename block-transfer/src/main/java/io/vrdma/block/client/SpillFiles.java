package io.vrdma.block.client;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where blocks larger than the largest pooled buffer are assembled: the engine's local dirs (Spark's
 * {@code spark.local.dir}/YARN's container dirs, passed as {@code vrdma.block.spillDir}), taken in turn so that
 * spills spread over the disks the engine spreads its own files over.
 */
final class SpillFiles {
  private final List<Path> dirs;
  private final AtomicInteger next = new AtomicInteger();

  /** @param dirs comma-separated directories; empty means {@code java.io.tmpdir} */
  SpillFiles(String dirs) {
    List<Path> list = new ArrayList<>();
    for (String d : dirs.split(",")) {
      if (!d.isBlank()) {
        list.add(Path.of(d.trim()));
      }
    }
    if (list.isEmpty()) {
      list.add(Path.of(System.getProperty("java.io.tmpdir")));
    }
    this.dirs = List.copyOf(list);
  }

  List<Path> dirs() {
    return dirs;
  }

  /** A new empty file in the next directory (created if it does not exist yet). */
  Path create() throws IOException {
    Path dir = dirs.get(Math.floorMod(next.getAndIncrement(), dirs.size()));
    Files.createDirectories(dir);
    return Files.createTempFile(dir, "vrdma-block-", ".spill");
  }
}
