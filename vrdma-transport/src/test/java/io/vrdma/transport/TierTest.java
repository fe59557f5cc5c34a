package io.vrdma.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Tiers travel on the wire by ordinal (advertisements, descriptors): a new tier is appended, never inserted. */
class TierTest {
  @Test
  void ordinalsOfTheWireAreStable() throws Exception {
    assertEquals(List.of(Tier.SHM, Tier.VERBS, Tier.TCP, Tier.RSOCKET), List.of(Tier.values()));
    assertEquals(3, Tier.RSOCKET.ordinal());
    RegionDescriptor d = new RegionDescriptor(Tier.RSOCKET, 42, 0, 7, 100);
    assertEquals(d, RegionDescriptor.fromBytes(d.toBytes()));
  }

  @Test
  void namesAndSocketTiers() {
    assertEquals(Tier.RSOCKET, Tier.fromName(" RSocket "));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tier.fromName("rdma"));
    assertTrue(e.getMessage().contains("rsocket"), e.getMessage());
    assertTrue(Tier.TCP.readsOverSocket() && Tier.RSOCKET.readsOverSocket());
    assertFalse(Tier.SHM.readsOverSocket() || Tier.VERBS.readsOverSocket());
  }
}
