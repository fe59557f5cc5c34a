package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** Spark's shuffle block and batch names are taken apart as the regular expressions they replace did. */
class ShuffleBlockNameTest {
  @Test
  void aBlockNameGivesItsShuffleAndPartition() {
    assertEquals(new ShuffleBlockName(3, null, 17, 18, false), ShuffleBlockName.parse("shuffle_3_123456789012_17"));
  }

  @Test
  void aBatchNameGivesItsPartitionsAndThePrefixOfItsBlocks() {
    assertEquals(new ShuffleBlockName(0, "shuffle_0_5_", 2, 9, true), ShuffleBlockName.parse("shuffle_0_5_2_9"));
  }

  @Test
  void namesOfOtherBlocksOrMalformedOnesAreNotShuffleBlocks() {
    for (String id : new String[] {"rdd_1_2", "shuffle_1_2", "shuffle_1_2_3_4_5", "shuffle__2_3", "shuffle_1_2_3_",
        "shuffle_1_2_x", "shuffle_1_-2_3", "shufflex1_2_3", "shuffle_3000000000_1_2", "shuffle_1_2_3000000000",
        "shuffle_1_99999999999999999999_2", "shuffle_1_2_3_4000000000", "broadcast_0", ""}) {
      assertNull(ShuffleBlockName.parse(id), id);
    }
  }
}
