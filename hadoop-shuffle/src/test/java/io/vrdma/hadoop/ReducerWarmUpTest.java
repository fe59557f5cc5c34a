package io.vrdma.hadoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.client.BlockClientMetrics;
import io.vrdma.transport.Tier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReducerWarmUpTest {
  @Test
  void theWarmUpFetchesAnInlineBlockAndAnArenaBlockAndLeavesNothingBehind(@TempDir Path tmp) throws Exception {
    BlockClientMetrics fetched = ReducerWarmUp.run(tmp);

    // both over the shm tier the reducer's client chooses on one host; the small one in the locate answer
    assertEquals(2, fetched.blocks(Tier.SHM), fetched::toString);
    assertEquals(1, fetched.inlineBlocks(), fetched::toString);
    try (Stream<Path> left = Files.list(tmp)) {
      assertEquals(0, left.count(), "the warm-up's arena, blocks file or directory is left in " + tmp);
    }
  }

  @Test
  void aWarmUpThatCannotRunSaysWhyAndThrowsNothing(@TempDir Path tmp) {
    ReducerWarmUp.runQuietly(tmp.resolve("no-such-dir"));

    assertTrue(ReducerWarmUp.outcome().startsWith("not done: "), ReducerWarmUp.outcome());
    assertTrue(ReducerWarmUp.outcome().contains("no-such-dir"), ReducerWarmUp.outcome());
  }
}
