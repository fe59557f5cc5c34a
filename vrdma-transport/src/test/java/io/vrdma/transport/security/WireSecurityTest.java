package io.vrdma.transport.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.tier.TierAvailability;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What may cross a network under each setting, and the node's start-up line saying so. */
class WireSecurityTest {
  private static WireSecurity policy(boolean required, boolean allowRdma) {
    return WireSecurity.of(TransportConf.fromMap(Map.of(TransportConf.ENCRYPTION_REQUIRED.name(), "" + required,
        TransportConf.VERBS_ALLOW_UNENCRYPTED.name(), "" + allowRdma)));
  }

  @Test
  void byDefaultNothingIsRequiredAndEveryTierMayRun() {
    WireSecurity p = WireSecurity.of(TransportConf.defaults());
    assertEquals(false, p.encryptionRequired());
    for (Tier t : Tier.values()) {
      assertNull(p.whyTierOff(t));
    }
    assertNull(p.startupLine(List.of()));
  }

  @Test
  void requiredEncryptionTurnsVerbsOffButKeepsShmAndTcp() {
    WireSecurity p = policy(true, false);
    assertTrue(p.whyTierOff(Tier.VERBS).contains(TransportConf.VERBS_ALLOW_UNENCRYPTED.name()));
    assertNull(p.whyTierOff(Tier.SHM));
    assertNull(p.whyTierOff(Tier.TCP));
  }

  @Test
  void unencryptedRdmaMayBeAllowedExplicitly() {
    assertNull(policy(true, true).whyTierOff(Tier.VERBS));
  }

  @Test
  void startupLineNamesEachTiersState() {
    WireSecurity p = policy(true, false);
    String line = p.startupLine(List.of(TierAvailability.available(Tier.SHM, "arena"),
        TierAvailability.unavailable(Tier.VERBS, p.whyTierOff(Tier.VERBS), null),
        TierAvailability.available(Tier.TCP, "epoll")));
    assertTrue(line.startsWith("encryption required: shm on"), line);
    assertTrue(line.contains("verbs off (encryption required"), line);
    assertTrue(line.contains("tcp on, encrypted (AES-256-GCM"), line);
  }
}
