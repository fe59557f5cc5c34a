package io.vrdma.transport.tier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException.NoCommonTierException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TierSelectorTest {
  private static final byte[] ARENA_A = {1, 2, 3};
  private static final byte[] ARENA_B = {9, 9, 9};
  private static final List<Tier> DEFAULT_ORDER = List.of(Tier.SHM, Tier.VERBS, Tier.TCP);

  private static NodeAdvertisement node(Object... tierAndInfo) {
    Map<Tier, byte[]> tiers = new LinkedHashMap<>();
    for (int i = 0; i < tierAndInfo.length; i += 2) {
      tiers.put((Tier) tierAndInfo[i], (byte[]) tierAndInfo[i + 1]);
    }
    return new NodeAdvertisement(42, "10.0.0.1", 7000, tiers);
  }

  @Test
  void coResidentPeersShareShm() throws Exception {
    assertEquals(Tier.SHM, TierSelector.choose(DEFAULT_ORDER,
        node(Tier.SHM, ARENA_A, Tier.TCP, new byte[0]), node(Tier.SHM, ARENA_A, Tier.TCP, new byte[0])));
  }

  @Test
  void peersOnDifferentArenasFallToTheNextCommonTier() throws Exception {
    assertEquals(Tier.VERBS, TierSelector.choose(DEFAULT_ORDER,
        node(Tier.SHM, ARENA_A, Tier.VERBS, new byte[0], Tier.TCP, new byte[0]),
        node(Tier.SHM, ARENA_B, Tier.VERBS, new byte[0], Tier.TCP, new byte[0])));
    assertEquals(Tier.TCP, TierSelector.choose(DEFAULT_ORDER,
        node(Tier.SHM, ARENA_A, Tier.TCP, new byte[0]), node(Tier.TCP, new byte[0])));
  }

  @Test
  void localPreferenceOrderDecides() throws Exception {
    assertEquals(Tier.TCP, TierSelector.choose(List.of(Tier.TCP, Tier.SHM),
        node(Tier.SHM, ARENA_A, Tier.TCP, new byte[0]), node(Tier.SHM, ARENA_A, Tier.TCP, new byte[0])));
  }

  @Test
  void forcedTierThePeerLacksFailsNamingBothSides() {
    NoCommonTierException e = assertThrows(NoCommonTierException.class, () -> TierSelector.choose(List.of(Tier.SHM),
        node(Tier.SHM, ARENA_A), node(Tier.SHM, ARENA_B, Tier.TCP, new byte[0])));
    assertTrue(e.getMessage().contains("shm arenas differ"), e.getMessage());
  }

  @Test
  void whyNotPreferredNamesTheArenaMismatchAndTiersThePeerLacks() {
    byte[] arena1 = ByteBuffer.allocate(16).putLong(1).putLong(2).array();
    byte[] arena2 = ByteBuffer.allocate(16).putLong(3).putLong(4).array();
    NodeAdvertisement local = node(Tier.SHM, arena1, Tier.VERBS, new byte[0], Tier.TCP, new byte[0]);
    assertEquals("shm: arenas differ (here 00000000-0000-0001-0000-000000000002, peer"
        + " 00000000-0000-0003-0000-000000000004): not co-resident; verbs: the peer has none",
        TierSelector.whyNotPreferred(DEFAULT_ORDER, Tier.TCP, local, node(Tier.SHM, arena2, Tier.TCP, new byte[0])));
    assertEquals("shm: the peer has none",
        TierSelector.whyNotPreferred(DEFAULT_ORDER, Tier.VERBS, local, node(Tier.VERBS, new byte[0])));
  }

  @Test
  void whyNotPreferredIsEmptyForTheFirstTierAndSkipsTiersOffHere() {
    NodeAdvertisement shmAndTcp = node(Tier.SHM, ARENA_A, Tier.TCP, new byte[0]);
    assertEquals("", TierSelector.whyNotPreferred(DEFAULT_ORDER, Tier.SHM, shmAndTcp, shmAndTcp));
    NodeAdvertisement tcpOnly = node(Tier.TCP, new byte[0]);
    assertEquals("", TierSelector.whyNotPreferred(DEFAULT_ORDER, Tier.TCP, tcpOnly, shmAndTcp),
        "shm and verbs are off here: the start-up line says why, not every connection");
  }

  @Test
  void advertisementSurvivesSerialization() throws Exception {
    NodeAdvertisement adv = node(Tier.SHM, ARENA_A, Tier.TCP, new byte[0]);
    assertEquals(adv, NodeAdvertisement.fromBytes(ByteBuffer.wrap(adv.toBytes())));
  }
}
