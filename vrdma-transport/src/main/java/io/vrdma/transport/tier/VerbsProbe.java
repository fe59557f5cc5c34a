package io.vrdma.transport.tier;

import io.vrdma.transport.Tier;
import java.io.File;
import java.util.Arrays;

/**
 * What this build can say about the verbs tier. The DiSNI data path is not in this release yet, so the
 * tier is reported off, but the report names the RDMA devices the node has, so that an operator sees at
 * start-up whether the guest's vRDMA/SR-IOV device reached it at all.
 */
public final class VerbsProbe {
  private static final File DEVICES = new File("/sys/class/infiniband");

  private VerbsProbe() {}

  /** The verbs tier's availability on this node. */
  public static TierAvailability probe() {
    String[] devices = DEVICES.list();
    String seen = devices == null || devices.length == 0
        ? "no RDMA device in " + DEVICES
        : "RDMA devices " + Arrays.toString(devices);
    return TierAvailability.unavailable(Tier.VERBS,
        "the DiSNI verbs provider is not part of this build yet (" + seen + ")", null);
  }
}
