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
  void advertisementSurvivesSerialization() throws Exception {
    NodeAdvertisement adv = node(Tier.SHM, ARENA_A, Tier.TCP, new byte[0]);
    assertEquals(adv, NodeAdvertisement.fromBytes(ByteBuffer.wrap(adv.toBytes())));
  }
}
