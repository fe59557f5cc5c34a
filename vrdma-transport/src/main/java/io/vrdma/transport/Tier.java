package io.vrdma.transport;

import java.util.Locale;

/** The paths a block can take between two peers, from fastest to the always-present fallback. */
public enum Tier {
  /** A shared-memory arena both peers map: a /dev/shm file on one host, an IVSHMEM BAR across VMs. */
  SHM,
  /** One-sided RDMA READ through DiSNI on an ibverbs device (vRDMA/pvrdma, SR-IOV VF, HCA, Soft-RoCE). */
  VERBS,
  /** The host network through Netty, serving file segments zero-copy. */
  TCP;

  /** The lower-case name used in configuration and logs. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a tier from its configuration name, with a one-line error listing the valid names. */
  public static Tier fromName(String name) {
    for (Tier t : values()) {
      if (t.configName().equalsIgnoreCase(name.trim())) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown tier '" + name + "' (expected shm, verbs or tcp)");
  }
}
