package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockException.BlockNotFoundException;
import io.vrdma.transport.Tier;
import io.vrdma.transport.testing.Patterns;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A file published as numbered blocks (a Spark map output: {@code shuffle_0_5_} + reduce partition) is served like
 * one published block by block, from one entry: every block, empty ones included, under exactly its own name, and
 * names that only look alike are not found.
 */
@Timeout(120)
class NumberedPublishTest {
  private static final String NS = "app-1/shuffle-0";
  private static final String PREFIX = "shuffle_0_7_";
  private static final long SEED = 41;
  /** Tiny blocks (inline), an empty one, a run of neighbours and two large ones (staged or read in place). */
  private static final long[] SIZES = {15, 0, 3000, 3000, 3000, 70_000, 0, 1_200_000, 9};

  @TempDir
  Path dir;

  private static List<String> ids() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < SIZES.length; i++) {
      ids.add(PREFIX + i);
    }
    return ids;
  }

  private void publish(BlockFixture f) throws Exception {
    long total = 0;
    for (long s : SIZES) {
      total += s;
    }
    Path file = Patterns.writeFile(dir.resolve("map-7.data"), SEED, 0, total);
    f.server.createNamespace(NS, null);
    f.server.publishNumbered(NS, file, PREFIX, SIZES);
  }

  private static Collector fetch(BlockFixture f, List<String> ids) throws Exception {
    return f.fetchAll(NS, ids);
  }

  @ParameterizedTest
  @EnumSource(value = Tier.class, names = {"SHM", "TCP"})
  void everyBlockOfANumberedFileIsServedUnderItsOwnName(Tier tier) throws Exception {
    try (BlockFixture f = BlockFixture.forTier(dir, tier, Map.of())) {
      publish(f);
      List<String> ids = ids();
      Collector c = fetch(f, ids);
      assertTrue(c.failures.isEmpty(), () -> "failures: " + c.failures);
      assertTrue(c.eachReportedOnce(ids.size()), () -> "reports: " + c.calls);
      for (int i = 0; i < SIZES.length; i++) {
        ByteBuffer bytes = c.blocks.get(ids.get(i));
        assertEquals(SIZES[i], bytes.remaining(), ids.get(i));
        assertNull(Patterns.mismatch(SEED, BlockFixture.offsetOf(SIZES, i), bytes, 0, (int) SIZES[i]), ids.get(i));
      }
      // asked again (the blocks' entries and checksums exist now): the same bytes
      Collector again = fetch(f, List.of(ids.get(7), ids.get(0)));
      assertTrue(again.failures.isEmpty(), () -> "failures: " + again.failures);
      assertEquals(c.blocks.get(ids.get(7)), again.blocks.get(ids.get(7)));
    }
  }

  @Test
  void namesOutsideTheFileOrOnlyAlikeAreNotFound() throws Exception {
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, Map.of())) {
      publish(f);
      List<String> strangers = List.of(PREFIX + SIZES.length, PREFIX + "07", PREFIX, "shuffle_0_7", PREFIX + "x",
          "shuffle_0_8_0", PREFIX + "99999999999", PREFIX + "-1");
      Collector c = fetch(f, strangers);
      assertTrue(c.eachReportedOnce(strangers.size()), () -> "reports: " + c.calls);
      for (String id : strangers) {
        assertInstanceOf(BlockNotFoundException.class, c.failures.get(id), id);
      }
    }
  }

  @Test
  void aDroppedNamespaceServesNoneOfItsNumberedBlocks() throws Exception {
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, Map.of())) {
      publish(f);
      f.server.dropNamespace(NS);
      f.server.createNamespace(NS, null);
      Collector c = fetch(f, List.of(PREFIX + 0, PREFIX + 7));
      assertEquals(2, c.failures.size(), () -> "reports: " + c.calls);
    }
  }

  @Test
  void aPrefixEndingInADigitIsRefused() throws Exception {
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, Map.of())) {
      f.server.createNamespace(NS, null);
      Path file = Patterns.writeFile(dir.resolve("f"), SEED, 0, 10);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> f.server.publishNumbered(NS, file, "shuffle_0_7", new long[] {10}));
      assertTrue(e.getMessage().contains("must not be empty or end in a digit"), e.getMessage());
    }
  }
}
