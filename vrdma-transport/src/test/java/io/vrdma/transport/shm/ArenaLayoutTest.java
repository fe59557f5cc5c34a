package io.vrdma.transport.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The layout arithmetic alone, for sizes no test can afford to create. */
class ArenaLayoutTest {
  private static final Path PATH = Path.of("/nowhere/arena");

  @Test
  void maxArenaBytesIsExactlyTheLargestFileWhoseEveryChunkIsAddressed() throws Exception {
    for (int chunk : new int[] {4096, 64 * 1024, 1 << 30}) {
      long max = ArenaLayout.maxArenaBytes(chunk, 256);
      ArenaLayout full = ArenaLayout.compute(PATH, max, chunk, 256);
      assertEquals(ArenaLayout.maxChunkCount(chunk, 256), full.chunkCount, "chunk " + chunk);
      assertEquals(max, full.chunkAddress(full.chunkCount), "the last chunk ends the file, chunk " + chunk);
      assertTrue(full.dataOffset > 0 && full.dataOffset % chunk == 0, "data at " + full.dataOffset);
      assertEquals(full.chunkCount - 1, ArenaLayout.compute(PATH, max - 1, chunk, 256).chunkCount,
          "a byte less loses a chunk, chunk " + chunk);
    }
  }

  @Test
  void fileLargerThanTheChunkTableAddressesKeepsItsTablesInOneMappingAndAnUnusedTail() throws Exception {
    long max = ArenaLayout.maxArenaBytes(4096, 8);
    ArenaLayout layout = ArenaLayout.compute(PATH, max + (1L << 40), 4096, 8);
    assertEquals(ArenaLayout.maxChunkCount(4096, 8), layout.chunkCount);
    assertTrue(layout.dataOffset <= Integer.MAX_VALUE && layout.dataOffset > 0, "data at " + layout.dataOffset);
    assertTrue(max > 500L << 30 && max < 520L << 30, "about 512 GiB with 4 KiB chunks: " + max);
    assertTrue(ArenaLayout.maxArenaBytes(64 * 1024, 256) > 8L << 40, "over 8 TiB with 64 KiB chunks");
  }

  @Test
  void arenaOfSixtyFourGibInSixtyFourKibChunksMapsItsHeaderAndTablesInUnderSeventeenMib() throws Exception {
    ArenaLayout layout = ArenaLayout.compute(PATH, 64L << 30, 64 * 1024, 256);
    assertTrue(layout.chunkCount > (1 << 20) - 300 && layout.chunkCount < 1 << 20, "chunks " + layout.chunkCount);
    // 16 MiB of chunk entries, the header, 16 KiB of process slots and the alignment of the data area
    assertTrue(layout.dataOffset <= (16L << 20) + 4096 + 16 * 1024 + 64 * 1024, "data at " + layout.dataOffset);
    assertTrue(layout.chunkAddress(layout.chunkCount) <= 64L << 30);
  }
}
