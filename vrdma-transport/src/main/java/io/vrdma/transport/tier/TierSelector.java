package io.vrdma.transport.tier;

import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException.NoCommonTierException;
import java.util.Arrays;
import java.util.List;

/** Chooses the tier for a peer: the first tier of the local preference order that both sides can use. */
public final class TierSelector {
  private TierSelector() {}

  /**
   * @param preference the local preference order (configuration {@code vrdma.transport.tiers})
   * @param local this node's advertisement
   * @param remote the peer's advertisement
   * @throws NoCommonTierException when no tier of the preference order works for both
   */
  public static Tier choose(List<Tier> preference, NodeAdvertisement local, NodeAdvertisement remote)
      throws NoCommonTierException {
    for (Tier tier : preference) {
      if (usableBetween(tier, local, remote)) {
        return tier;
      }
    }
    throw new NoCommonTierException("no common tier with " + remote + ": this node allows "
        + preference.stream().map(Tier::configName).toList() + " and has "
        + local.tiers().keySet().stream().map(Tier::configName).toList()
        + (local.has(Tier.SHM) && remote.has(Tier.SHM) ? " (shm arenas differ: not co-resident)" : ""));
  }

  /** Whether both nodes can use a tier with each other; shm needs the very same arena on both sides. */
  public static boolean usableBetween(Tier tier, NodeAdvertisement local, NodeAdvertisement remote) {
    if (!local.has(tier) || !remote.has(tier)) {
      return false;
    }
    if (tier == Tier.SHM) {
      return Arrays.equals(local.tiers().get(tier), remote.tiers().get(tier));
    }
    return true;
  }
}
