package io.vrdma.transport.tcp;

import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.tier.DataPath;
import io.vrdma.transport.tier.TierProvider;
import io.vrdma.transport.tier.TierRegistration;

/**
 * The socket tiers: a region is an entry in the node's serving table, and a read is a request on the
 * connection's own channel answered with the bytes (zero-copy on the serving side, unless the sockets are
 * rsockets). The same code serves {@link Tier#TCP} and {@link Tier#RSOCKET}: under librdmacm's preload the
 * process's sockets are rsockets, and the tier it is made for is only what the node advertises and what its
 * descriptors say.
 */
public final class TcpTier implements TierProvider {
  private final Tier tier;
  private final long nodeId;
  private final TcpRegistrations registrations;
  private final String detail;

  /** The tcp tier. */
  public TcpTier(long nodeId, TcpRegistrations registrations, String detail) {
    this(Tier.TCP, nodeId, registrations, detail);
  }

  /**
   * @param tier {@link Tier#TCP} or {@link Tier#RSOCKET}
   */
  public TcpTier(Tier tier, long nodeId, TcpRegistrations registrations, String detail) {
    if (!tier.readsOverSocket()) {
      throw new IllegalArgumentException("the socket tier cannot serve " + tier);
    }
    this.tier = tier;
    this.nodeId = nodeId;
    this.registrations = registrations;
    this.detail = detail;
  }

  @Override
  public Tier tier() {
    return tier;
  }

  @Override
  public byte[] advertisedInfo() {
    return new byte[0];
  }

  @Override
  public String detail() {
    return detail;
  }

  @Override
  public TierRegistration register(RegionSource source) {
    long key = registrations.add(source, tier);
    RegionDescriptor descriptor = new RegionDescriptor(tier, nodeId, 0, key, source.length());
    return TierRegistration.of(descriptor, () -> registrations.remove(key));
  }

  @Override
  public DataPath open(NodeAdvertisement peer, TcpClientChannel control) {
    return new DataPath() {
      @Override
      public java.util.concurrent.CompletableFuture<Void> read(RegionDescriptor region, long offset, int length,
          io.vrdma.transport.buffer.PooledBuffer dst, int dstOffset) {
        if (region.owner() != peer.nodeId()) {
          return java.util.concurrent.CompletableFuture.failedFuture(new InvalidDescriptorException(
              tier.configName() + " descriptor of node " + Long.toHexString(region.owner()) + " used on the connection to " + peer));
        }
        return control.read(region, offset, length, dst, dstOffset);
      }

      @Override
      public void close() {
        // the channel belongs to the connection, which closes it
      }
    };
  }

  @Override
  public void close() {
    // the serving table and channels belong to the node
  }
}
