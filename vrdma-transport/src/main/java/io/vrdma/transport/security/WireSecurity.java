package io.vrdma.transport.security;

import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.tier.TierAvailability;
import java.util.List;

/**
 * The one place that decides what may cross a network when the engine asked for encrypted shuffle traffic
 * ({@link TransportConf#ENCRYPTION_REQUIRED}, which the Spark and Hadoop plugins set from their engine's own
 * settings): shm stays on (its bytes never leave the host's memory), tcp connections carry AES-GCM records
 * ({@link AesGcmCodec}) keyed from the authenticated secret or are refused, and verbs is off unless
 * {@link TransportConf#VERBS_ALLOW_UNENCRYPTED} says the RDMA fabric is trusted.
 */
public final class WireSecurity {
  private final boolean encryptionRequired;
  private final boolean unencryptedRdmaAllowed;

  private WireSecurity(boolean encryptionRequired, boolean unencryptedRdmaAllowed) {
    this.encryptionRequired = encryptionRequired;
    this.unencryptedRdmaAllowed = unencryptedRdmaAllowed;
  }

  /** The policy a node's configuration asks for. */
  public static WireSecurity of(TransportConf conf) {
    return new WireSecurity(conf.get(TransportConf.ENCRYPTION_REQUIRED), conf.get(TransportConf.VERBS_ALLOW_UNENCRYPTED));
  }

  /** Whether every tcp connection that carries shuffle bytes must be encrypted. */
  public boolean encryptionRequired() {
    return encryptionRequired;
  }

  /** Whether a tier may carry shuffle bytes under this policy; null when it may, else why not. */
  public String whyTierOff(Tier tier) {
    if (encryptionRequired && tier == Tier.VERBS && !unencryptedRdmaAllowed) {
      return "encryption required (" + TransportConf.ENCRYPTION_REQUIRED.name() + ") and RDMA READs are not"
          + " encrypted; set " + TransportConf.VERBS_ALLOW_UNENCRYPTED.name() + "=true for a trusted fabric";
    }
    return null;
  }

  /**
   * The node's start-up line, for example {@code encryption required: shm on, tcp AES-256-GCM, verbs off
   * (encryption required ...)}; null when encryption is not required (nothing to say).
   */
  public String startupLine(List<TierAvailability> tiers) {
    if (!encryptionRequired) {
      return null;
    }
    StringBuilder line = new StringBuilder("encryption required: ");
    for (int i = 0; i < tiers.size(); i++) {
      TierAvailability a = tiers.get(i);
      if (i > 0) {
        line.append(", ");
      }
      line.append(a.tier().configName());
      if (!a.available()) {
        line.append(" off (").append(a.detail()).append(')');
      } else if (a.tier().readsOverSocket()) {
        line.append(" on, encrypted (AES-256-GCM keyed by HKDF-SHA256 of the namespace secret and both nonces)");
      } else if (a.tier() == Tier.VERBS) {
        line.append(" on UNENCRYPTED (").append(TransportConf.VERBS_ALLOW_UNENCRYPTED.name()).append("=true)");
      } else {
        line.append(" on (host memory, no wire)");
      }
    }
    return line.toString();
  }

  @Override
  public String toString() {
    return encryptionRequired ? "encryption required" + (unencryptedRdmaAllowed ? ", unencrypted RDMA allowed" : "")
        : "encryption not required";
  }
}
