package io.vrdma.transport.tier;

import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.tcp.TcpClientChannel;

/**
 * One tier of a node, as the node drives it: it registers regions so that peers can read them, and opens
 * the data path that reads a peer's regions. A provider exists only when its tier is available; the
 * node records why an unavailable one could not be made.
 */
public interface TierProvider extends AutoCloseable {
  Tier tier();

  /** What the node advertises for this tier (for shm, the arena's identity). */
  byte[] advertisedInfo();

  /** A one-line description for the start-up log: what this tier runs on. */
  String detail();

  /**
   * Makes a region readable by peers on this tier.
   *
   * @throws TransportException.ResourceFullException when the tier has no room; the region may still be
   *     registered on other tiers
   */
  TierRegistration register(RegionSource source) throws TransportException;

  /**
   * Bytes this tier can hold registered at once (the shm arena's data area, the verbs registration budget); a
   * tier that serves regions where they lie (tcp) has no window.
   */
  default long windowBytes() {
    return Long.MAX_VALUE;
  }

  /** The largest region this tier can ever take; a larger one goes to another tier. At most {@link #windowBytes()}. */
  default long maxRegionBytes() {
    return windowBytes();
  }

  /**
   * The path that reads regions of {@code peer} on this tier.
   *
   * @param control the connection's control channel, for tiers that set up their data path through it
   */
  DataPath open(NodeAdvertisement peer, TcpClientChannel control) throws TransportException;

  @Override
  void close();
}
