package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockException.CorruptBlockException;
import io.vrdma.transport.Tier;
import io.vrdma.transport.testing.Patterns;
import io.vrdma.transport.testing.ShmArenas;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Small runs come in the locate answer itself: no staging copy, no lease, no second round trip, every byte still
 * checked; the answer's inline budget bounds them and the rest is served as before.
 */
@Timeout(120)
class InlineRunsTest {
  private static final String NS = "app-1/shuffle-0";
  private static final int BLOCK = 100;

  @TempDir
  Path dir;

  private BlockFixture fixture(Tier tier, Map<String, String> serverExtra, Map<String, String> clientExtra)
      throws Exception {
    Path arena = ShmArenas.newArenaPath(dir);
    String tiers = tier == Tier.SHM ? "shm,tcp" : tier.configName();
    Map<String, String> server = BlockFixture.settings(arena, tiers);
    server.putAll(serverExtra);
    Map<String, String> client = BlockFixture.settings(arena, tiers);
    client.putAll(clientExtra);
    return new BlockFixture(dir, server, client, false);
  }

  /** Every other block of a file of 400 blocks of 100 B: 200 runs of one block each (their neighbours are not asked). */
  private static List<String> everyOther(List<String> ids) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < ids.size(); i += 2) {
      out.add(ids.get(i));
    }
    return out;
  }

  private static void assertIntact(Collector c, long seed, List<String> asked) {
    assertTrue(c.failures.isEmpty(), () -> "failures: " + c.failures);
    assertTrue(c.eachReportedOnce(asked.size()), () -> "reports: " + c.calls);
    for (String id : asked) {
      int index = Integer.parseInt(id.substring(1));
      ByteBuffer bytes = c.blocks.get(id);
      assertEquals(BLOCK, bytes.remaining(), id);
      assertNull(Patterns.mismatch(seed, (long) index * BLOCK, bytes, 0, BLOCK), id);
    }
  }

  private static Collector fetch(BlockFixture f, List<String> ids) throws Exception {
    return f.fetchAll(NS, ids);
  }

  @ParameterizedTest
  @EnumSource(value = Tier.class, names = {"SHM", "TCP"})
  void smallRunsComeInTheAnswerWithoutStagingOrLeases(Tier tier) throws Exception {
    long[] sizes = new long[400];
    Arrays.fill(sizes, BLOCK);
    try (BlockFixture f = fixture(tier, Map.of(), Map.of())) {
      f.server.createNamespace(NS, null);
      List<String> asked = everyOther(f.publish(NS, "b", 11, sizes));
      Collector c = fetch(f, asked);
      assertIntact(c, 11, asked);
      assertEquals(200, f.client.metrics().inlineBlocks(), f.client.metrics().toString());
      assertEquals(200L * BLOCK, f.client.metrics().inlineBytes());
      // inline blocks count under the tier the reader's connection uses
      assertEquals(200L * BLOCK, f.client.metrics().bytes(tier));
      assertEquals(200, f.server.stagingMetrics().inlineBlocks(), f.server.stagingMetrics().toString());
      assertEquals(0, f.server.stagingMetrics().stagedRuns(), "nothing staged for small runs");
      assertEquals(0, f.server.stagingMetrics().windowFallbackBlocks(), "inline is no fallback");
      assertEquals(0, f.server.leasesHeld());
    }
  }

  @Test
  void runsBeyondTheAnswersInlineBudgetAreStagedAsBefore() throws Exception {
    long[] sizes = new long[400];
    Arrays.fill(sizes, BLOCK);
    // 1,000 inline bytes per answer: 10 of the 200 runs of one locate (batch of 1024 ids) come inline
    try (BlockFixture f = fixture(Tier.SHM, Map.of(BlockConf.STAGE_INLINE_ANSWER_BYTES.name(), "1000"), Map.of())) {
      f.server.createNamespace(NS, null);
      List<String> asked = everyOther(f.publish(NS, "b", 12, sizes));
      Collector c = fetch(f, asked);
      assertIntact(c, 12, asked);
      assertEquals(10, f.server.stagingMetrics().inlineBlocks(), f.server.stagingMetrics().toString());
      assertEquals(190, f.server.stagingMetrics().stagedBlocks(), f.server.stagingMetrics().toString());
      assertEquals(200L * BLOCK, f.client.metrics().bytes(Tier.SHM));
      assertEquals(0, f.server.stagingMetrics().windowFallbackBlocks());
    }
  }

  @Test
  void aReaderThatTakesNothingInlineGetsEveryRunStaged() throws Exception {
    long[] sizes = new long[400];
    Arrays.fill(sizes, BLOCK);
    try (BlockFixture f = fixture(Tier.SHM, Map.of(), Map.of(BlockConf.CLIENT_INLINE_BYTES.name(), "0"))) {
      f.server.createNamespace(NS, null);
      List<String> asked = everyOther(f.publish(NS, "b", 13, sizes));
      Collector c = fetch(f, asked);
      assertIntact(c, 13, asked);
      assertEquals(0, f.client.metrics().inlineBlocks());
      assertEquals(200, f.server.stagingMetrics().stagedBlocks(), f.server.stagingMetrics().toString());
    }
  }

  @Test
  void aContiguousRunWithinTheInlineSizeComesInOnePieceAndIsCutIntoItsBlocks() throws Exception {
    long[] sizes = new long[30]; // 3,000 bytes back to back: one run, under the 4 KiB inline size
    Arrays.fill(sizes, BLOCK);
    try (BlockFixture f = fixture(Tier.SHM, Map.of(), Map.of())) {
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "b", 14, sizes);
      Collector c = fetch(f, ids);
      assertIntact(c, 14, ids);
      assertEquals(30, f.client.metrics().inlineBlocks());
      assertEquals(30, f.server.stagingMetrics().inlineBlocks());
      assertEquals(0, f.server.stagingMetrics().stagedRuns());
    }
  }

  @Test
  void anInlineBlockWhoseFileChangedUnderItIsReportedCorruptNeverDelivered() throws Exception {
    long[] sizes = new long[4];
    Arrays.fill(sizes, BLOCK);
    try (BlockFixture f = fixture(Tier.TCP, Map.of(), Map.of())) {
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "b", 15, sizes);
      List<String> first = List.of(ids.get(1));
      assertIntact(fetch(f, first), 15, first); // the server knows the block's CRC32C from now on
      Path file;
      try (var files = Files.list(dir)) {
        file = files.filter(p -> p.getFileName().toString().startsWith("b15-")).findFirst().orElseThrow();
      }
      byte original = Files.readAllBytes(file)[BLOCK + 7];
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {(byte) ~original}), BLOCK + 7);
      }
      Collector c = fetch(f, first);
      assertTrue(c.blocks.isEmpty(), "a block whose bytes changed is not delivered");
      assertInstanceOf(CorruptBlockException.class, c.failures.get(ids.get(1)), String.valueOf(c.failures));
      assertEquals(1, f.client.metrics().corruptRefetches(), "fetched once more before it is reported");
    }
  }

  @Test
  void inlineSizesBeyondWhatAControlMessageShouldCarryAreRefused() {
    Map<String, String> tooBig = new HashMap<>();
    tooBig.put(BlockConf.CLIENT_INLINE_BYTES.name(), "2m");
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> BlockConf.fromMap(tooBig));
    assertTrue(e.getMessage().contains("at most 1m"), e.getMessage());
  }
}
