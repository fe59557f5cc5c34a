package io.vrdma.transport.tier;

import io.vrdma.transport.Tier;
import java.util.Optional;

/**
 * Whether a tier works on this node and, if not, why: a one-line reason for logs and the exception that
 * caused it, kept for diagnosis (as Netty's {@code Epoll.unavailabilityCause()} does).
 *
 * @param tier the tier probed
 * @param available whether the tier can be used
 * @param detail what was found (when available) or what is missing (when not), one line
 * @param cause the failure behind an unavailable tier, when there was one
 */
public record TierAvailability(Tier tier, boolean available, String detail, Optional<Throwable> cause) {
  public static TierAvailability available(Tier tier, String detail) {
    return new TierAvailability(tier, true, detail, Optional.empty());
  }

  public static TierAvailability unavailable(Tier tier, String reason, Throwable cause) {
    return new TierAvailability(tier, false, reason, Optional.ofNullable(cause));
  }

  /** The form used in the node's start-up line: "shm (detail)" or "verbs off: reason". */
  @Override
  public String toString() {
    return available ? tier.configName() + " (" + detail + ")" : tier.configName() + " off: " + detail;
  }
}
