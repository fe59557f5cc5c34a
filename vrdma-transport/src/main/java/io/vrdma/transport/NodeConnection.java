package io.vrdma.transport;

import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.tcp.Frames;
import io.vrdma.transport.security.SessionKeys;
import io.vrdma.transport.tcp.TcpClientChannel;
import io.vrdma.transport.tier.DataPath;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** A {@link Connection} made by a {@link TransportNode}: the control channel plus a data path per tier. */
final class NodeConnection implements Connection {
  private final NodeAdvertisement peer;
  private final Tier tier;
  private final TcpClientChannel control;
  private final Map<Tier, DataPath> paths;
  private final boolean encryptionRequired;

  NodeConnection(NodeAdvertisement peer, Tier tier, TcpClientChannel control, Map<Tier, DataPath> paths,
      boolean encryptionRequired) {
    this.encryptionRequired = encryptionRequired;
    this.peer = peer;
    this.tier = tier;
    this.control = control;
    this.paths = paths;
  }

  /** The control channel, which also carries tcp reads. */
  TcpClientChannel control() {
    return control;
  }

  @Override
  public Tier tier() {
    return tier;
  }

  @Override
  public NodeAdvertisement peer() {
    return peer;
  }

  @Override
  public CompletableFuture<Void> read(RegionDescriptor region, long offset, int length, PooledBuffer dst,
      int dstOffset) {
    if (!control.isActive()) {
      return CompletableFuture.failedFuture(new PeerUnavailableException("connection to " + peer + " is closed"));
    }
    DataPath path = paths.get(region.tier());
    if (path == null) {
      return CompletableFuture.failedFuture(new InvalidDescriptorException("descriptor is for tier "
          + region.tier().configName() + ", which the connection to " + peer + " does not have (it has "
          + paths.keySet().stream().map(Tier::configName).toList() + ")"));
    }
    if (offset < 0 || length < 0 || offset > region.length() - length) {
      return CompletableFuture.failedFuture(new InvalidDescriptorException("read [" + offset + ", +" + length
          + ") is outside the region of " + region.length() + " bytes"));
    }
    if (dstOffset < 0 || dstOffset > dst.capacity() - length) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("read of " + length
          + " bytes at " + dstOffset + " does not fit a buffer of " + dst.capacity() + " bytes"));
    }
    if (encryptionRequired && region.tier().readsOverSocket() && !control.encrypted()) {
      // the server refuses it too; refusing here means the bytes are never even asked for in plaintext
      return CompletableFuture.failedFuture(new TransportException(region.tier().configName() + " read from " + peer + " refused: encryption"
          + " is required (" + io.vrdma.transport.config.TransportConf.ENCRYPTION_REQUIRED.name()
          + ") and this connection is not encrypted"));
    }
    return path.read(region, offset, length, dst, dstOffset);
  }

  @Override
  public Optional<RegionView> view(RegionDescriptor region, long offset, int length) throws TransportException {
    if (!control.isActive()) {
      throw new PeerUnavailableException("connection to " + peer + " is closed");
    }
    DataPath path = paths.get(region.tier());
    if (path == null) {
      throw new InvalidDescriptorException("descriptor is for tier " + region.tier().configName()
          + ", which the connection to " + peer + " does not have");
    }
    if (offset < 0 || length < 0 || offset > region.length() - length) {
      throw new InvalidDescriptorException("view [" + offset + ", +" + length + ") is outside the region of "
          + region.length() + " bytes");
    }
    return path.view(region, offset, length);
  }

  @Override
  public CompletableFuture<ByteBuffer> request(ByteBuffer message) {
    return control.request(Frames.REQUEST, message);
  }

  @Override
  public void startEncryption(SessionKeys keys) throws TransportException {
    control.startEncryption(keys);
  }

  @Override
  public boolean encrypted() {
    return control.encrypted();
  }

  @Override
  public boolean isActive() {
    return control.isActive();
  }

  @Override
  public void close() {
    for (DataPath p : paths.values()) {
      p.close();
    }
    control.close();
  }

  @Override
  public String toString() {
    return "connection to " + peer + " on " + tier.configName();
  }
}
