package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.config.ConfigReference;
import io.vrdma.transport.config.ConfigReferenceTest;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ShuffleManagerConfTest {
  @Test
  void sparkKeysAreDocumentedExactlyAndOnlyAsInCode() throws Exception {
    ConfigReferenceTest.assertDocumented(new ShuffleManagerConf.Section(), ShuffleManagerConf.PREFIX);
  }

  @Test
  void sectionIsFoundOnTheClassPath() {
    assertTrue(ConfigReference.sections().stream().anyMatch(s -> s instanceof ShuffleManagerConf.Section));
  }

  @Test
  void layerKeysAreRenamedAndOthersIgnored() {
    ShuffleManagerConf conf = ShuffleManagerConf.fromMap(Map.of(
        "spark.shuffle.vrdma.transport.tiers", "tcp",
        "spark.shuffle.vrdma.block.maxRetries", "5",
        "spark.shuffle.vrdma.enabled", "false",
        "spark.shuffle.compress", "true"));
    assertEquals(Map.of("vrdma.transport.tiers", "tcp", "vrdma.block.maxRetries", "5"), conf.layerSettings());
    assertFalse(conf.get(ShuffleManagerConf.ENABLED));
    assertTrue(conf.get(ShuffleManagerConf.REPORT_COUNTERS));
  }

  @Test
  void unknownAndMalformedKeysAreRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> ShuffleManagerConf.fromMap(Map.of("spark.shuffle.vrdma.enabeld", "true")));
    assertThrows(IllegalArgumentException.class,
        () -> ShuffleManagerConf.fromMap(Map.of("spark.shuffle.vrdma.transport.tierz", "tcp")));
    assertThrows(IllegalArgumentException.class,
        () -> ShuffleManagerConf.fromMap(Map.of("spark.shuffle.vrdma.block.maxRetries", "many")));
    assertThrows(IllegalArgumentException.class,
        () -> ShuffleManagerConf.fromMap(Map.of("spark.shuffle.vrdma.enabled", "maybe")));
  }
}
