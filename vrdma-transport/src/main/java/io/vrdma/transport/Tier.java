package io.vrdma.transport;

import java.util.Locale;

/** The paths a block can take between two peers, from fastest to the always-present fallback. */
public enum Tier {
  /** A shared-memory arena both peers map: a /dev/shm file on one host, an IVSHMEM BAR across VMs. */
  SHM,
  /** One-sided RDMA READ through DiSNI on an ibverbs device (vRDMA/pvrdma, SR-IOV VF, HCA, Soft-RoCE). */
  VERBS,
  /** The host network through Netty, serving file segments zero-copy. */
  TCP,
  /**
   * The tcp tier's code on sockets that librdmacm's preload ({@code librspreload.so}) turned into rsockets:
   * stream sockets over an RDMA device. Appended last because tiers travel on the wire by ordinal.
   */
  RSOCKET;

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
    throw new IllegalArgumentException("unknown tier '" + name + "' (expected shm, verbs, rsocket or tcp)");
  }

  /**
   * Whether this tier's reads are answered on the connection's own socket (tcp, rsocket), so that they are
   * encrypted with it, rather than by shared memory or one-sided RDMA.
   */
  public boolean readsOverSocket() {
    return this == TCP || this == RSOCKET;
  }
}
