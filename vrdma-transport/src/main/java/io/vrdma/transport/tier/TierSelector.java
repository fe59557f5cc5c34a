package io.vrdma.transport.tier;

import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException.NoCommonTierException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

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

  /**
   * Why the tiers that this node has and prefers to {@code chosen} are not used with a peer, as one line for
   * the log ("shm: arenas differ (...): not co-resident; verbs: the peer has none"); empty when {@code chosen}
   * is the first preferred tier this node has. Tiers that are off on this node are left out: the node's
   * start-up line gives their reasons.
   */
  public static String whyNotPreferred(List<Tier> preference, Tier chosen, NodeAdvertisement local,
      NodeAdvertisement remote) {
    List<String> reasons = new ArrayList<>();
    for (Tier tier : preference) {
      if (tier == chosen) {
        break;
      }
      if (!local.has(tier)) {
        continue;
      }
      if (!remote.has(tier)) {
        reasons.add(tier.configName() + ": the peer has none");
      } else if (!usableBetween(tier, local, remote)) {
        reasons.add(tier == Tier.SHM
            ? "shm: arenas differ (here " + arenaId(local.tiers().get(tier)) + ", peer "
                + arenaId(remote.tiers().get(tier)) + "): not co-resident"
            : tier.configName() + ": not usable between the two");
      }
    }
    return String.join("; ", reasons);
  }

  /** An shm advertisement is the arena's UUID, as the arena's attach line prints it. */
  private static String arenaId(byte[] info) {
    if (info.length == 16) {
      ByteBuffer b = ByteBuffer.wrap(info);
      return new UUID(b.getLong(), b.getLong()).toString();
    }
    return HexFormat.of().formatHex(info);
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
