package io.vrdma.transport;

import io.vrdma.transport.TransportException.InvalidDescriptorException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a node tells its peers: who it is, where its control server listens, and the tiers it has with
 * what a peer needs to judge each one (for shm, the identity of the arena it maps: two peers share the
 * shm tier only when they map the same arena). The layers above exchange advertisements (Spark through
 * its driver); {@link TransportNode#connect} also learns the peer's in its handshake.
 *
 * @param nodeId random identity of the node, fresh at every start
 * @param host address of the node's control server
 * @param port port of the node's control server
 * @param tiers each available tier with its tier-specific details, in the node's preference order
 */
public record NodeAdvertisement(long nodeId, String host, int port, Map<Tier, byte[]> tiers) {
  private static final byte FORMAT_VERSION = 1;
  private static final int MAX_HOST_BYTES = 1024;
  private static final int MAX_TIER_INFO_BYTES = 4096;

  public NodeAdvertisement {
    tiers = Collections.unmodifiableMap(new LinkedHashMap<>(tiers));
  }

  /** Whether the node advertises a tier. */
  public boolean has(Tier tier) {
    return tiers.containsKey(tier);
  }

  /** The serialized form. */
  public byte[] toBytes() {
    byte[] hostBytes = host.getBytes(StandardCharsets.UTF_8);
    int size = 1 + 8 + 4 + hostBytes.length + 4 + 1;
    for (byte[] info : tiers.values()) {
      size += 1 + 4 + info.length;
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.put(FORMAT_VERSION).putLong(nodeId).putInt(hostBytes.length).put(hostBytes).putInt(port);
    b.put((byte) tiers.size());
    for (Map.Entry<Tier, byte[]> e : tiers.entrySet()) {
      b.put((byte) e.getKey().ordinal()).putInt(e.getValue().length).put(e.getValue());
    }
    return b.array();
  }

  /** Reads an advertisement, refusing malformed bytes with a one-line reason. */
  public static NodeAdvertisement fromBytes(ByteBuffer in) throws InvalidDescriptorException {
    try {
      byte version = in.get();
      if (version != FORMAT_VERSION) {
        throw new InvalidDescriptorException("node advertisement of format " + version
            + ", this build reads format " + FORMAT_VERSION);
      }
      long nodeId = in.getLong();
      byte[] host = new byte[boundedLength(in.getInt(), MAX_HOST_BYTES, "host")];
      in.get(host);
      int port = in.getInt();
      int count = in.get() & 0xff;
      Map<Tier, byte[]> tiers = new LinkedHashMap<>();
      for (int i = 0; i < count; i++) {
        int ordinal = in.get() & 0xff;
        if (ordinal >= Tier.values().length) {
          throw new InvalidDescriptorException("node advertisement names unknown tier " + ordinal);
        }
        byte[] info = new byte[boundedLength(in.getInt(), MAX_TIER_INFO_BYTES, "tier info")];
        in.get(info);
        tiers.put(Tier.values()[ordinal], info);
      }
      return new NodeAdvertisement(nodeId, new String(host, StandardCharsets.UTF_8), port, tiers);
    } catch (java.nio.BufferUnderflowException e) {
      throw new InvalidDescriptorException("node advertisement truncated");
    }
  }

  private static int boundedLength(int n, int max, String what) throws InvalidDescriptorException {
    if (n < 0 || n > max) {
      throw new InvalidDescriptorException("node advertisement " + what + " of " + n + " bytes (max " + max + ")");
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof NodeAdvertisement other)) {
      return false;
    }
    if (nodeId != other.nodeId || port != other.port || !host.equals(other.host)
        || !tiers.keySet().equals(other.tiers.keySet())) {
      return false;
    }
    return tiers.entrySet().stream().allMatch(e -> Arrays.equals(e.getValue(), other.tiers.get(e.getKey())));
  }

  @Override
  public int hashCode() {
    return Long.hashCode(nodeId) * 31 + port;
  }

  @Override
  public String toString() {
    return "node " + Long.toHexString(nodeId) + " at " + host + ":" + port + " tiers "
        + tiers.keySet().stream().map(Tier::configName).toList();
  }
}
