package io.vrdma.transport.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.Tier;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TransportConfTest {
  @Test
  void defaultsPreferShmThenVerbsThenRsocketThenTcp() {
    TransportConf conf = TransportConf.defaults();
    assertEquals(List.of(Tier.SHM, Tier.VERBS, Tier.RSOCKET, Tier.TCP), conf.tiers());
    assertEquals(30_000, conf.readTimeoutMillis());
    assertEquals(1L << 30, conf.get(TransportConf.SHM_ARENA_BYTES));
  }

  @Test
  void readsSizesDurationsAndOrderFromAPlainMap() {
    TransportConf conf = TransportConf.fromMap(Map.of(
        "vrdma.transport.tiers", "tcp, shm",
        "vrdma.transport.readTimeout", "2s",
        "vrdma.transport.shm.arenaBytes", "64m",
        "spark.unrelated", "ignored"));
    assertEquals(List.of(Tier.TCP, Tier.SHM), conf.tiers());
    assertEquals(2000, conf.readTimeoutMillis());
    assertEquals(64L << 20, conf.get(TransportConf.SHM_ARENA_BYTES));
  }

  @Test
  void misspeltKeyIsRejectedNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TransportConf.fromMap(Map.of("vrdma.transport.readTimout", "1s")));
    assertTrue(e.getMessage().contains("vrdma.transport.readTimout"), e.getMessage());
  }

  @Test
  void badValuesAreRejectedWithTheKeyAndTheExpectedForm() {
    assertMessage("vrdma.transport.readTimeout", Map.of("vrdma.transport.readTimeout", "soon"));
    assertMessage("unknown tier", Map.of("vrdma.transport.tiers", "shm,infiniband"));
    assertMessage("twice", Map.of("vrdma.transport.tiers", "tcp,tcp"));
    assertMessage("power of two", Map.of("vrdma.transport.shm.chunkBytes", "5000"));
    assertMessage("raise vrdma.transport.shm.chunkBytes", Map.of("vrdma.transport.shm.arenaBytes", "16384g"));
    assertMessage("not a TCP port", Map.of("vrdma.transport.port", "70000"));
  }

  @Test
  void arenasAboveTwoGibAreAcceptedUpToWhatTheirChunkTableAddresses() {
    assertEquals(64L << 30, TransportConf.fromMap(Map.of("vrdma.transport.shm.arenaBytes", "64g"))
        .get(TransportConf.SHM_ARENA_BYTES));
    // 8200 GiB needs more chunks of 64 KiB than one chunk table mapping addresses (about 8 TiB), not of 128 KiB.
    assertMessage("can address", Map.of("vrdma.transport.shm.arenaBytes", "8200g"));
    assertEquals(8200L << 30, TransportConf.fromMap(Map.of("vrdma.transport.shm.arenaBytes", "8200g",
        "vrdma.transport.shm.chunkBytes", "128k")).get(TransportConf.SHM_ARENA_BYTES));
  }

  private static void assertMessage(String expected, Map<String, String> settings) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TransportConf.fromMap(settings));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
