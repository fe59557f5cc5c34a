package io.vrdma.transport;

import io.vrdma.transport.TransportException.InvalidDescriptorException;
import java.nio.ByteBuffer;

/**
 * What a peer needs to read a registered region: the tier it lives on, its owner, where it is, the key
 * that proves the registration and its length. For {@link Tier#SHM} the owner is the arena process
 * token and the address the region's byte offset in the arena; for {@link Tier#TCP} the owner is the
 * node id, the address 0 and the key the server's registration key; for {@link Tier#VERBS} address and
 * key are the remote virtual address and rkey.
 *
 * <p>A descriptor is plain data: it travels in control messages and is validated by whoever acts on it.
 *
 * @param tier the tier the region is registered on
 * @param owner the registering process (shm) or node (tcp, verbs)
 * @param address tier-specific start of the region
 * @param key tier-specific key of the registration
 * @param length bytes in the region
 */
public record RegionDescriptor(Tier tier, long owner, long address, long key, long length) {
  /** Bytes of the serialized form. */
  public static final int SERIALIZED_BYTES = 1 + 4 * Long.BYTES;

  public RegionDescriptor {
    if (tier == null) {
      throw new IllegalArgumentException("descriptor without tier");
    }
    if (length < 0) {
      throw new IllegalArgumentException("descriptor with negative length " + length);
    }
  }

  /** Writes the descriptor at the buffer's position, advancing it. */
  public void writeTo(ByteBuffer out) {
    out.put((byte) tier.ordinal()).putLong(owner).putLong(address).putLong(key).putLong(length);
  }

  /** The serialized form, {@link #SERIALIZED_BYTES} long. */
  public byte[] toBytes() {
    ByteBuffer b = ByteBuffer.allocate(SERIALIZED_BYTES);
    writeTo(b);
    return b.array();
  }

  /**
   * Reads a descriptor at the buffer's position, advancing it.
   *
   * @throws InvalidDescriptorException when the bytes are short or name no tier
   */
  public static RegionDescriptor readFrom(ByteBuffer in) throws InvalidDescriptorException {
    if (in.remaining() < SERIALIZED_BYTES) {
      throw new InvalidDescriptorException("region descriptor truncated: " + in.remaining()
          + " of " + SERIALIZED_BYTES + " bytes");
    }
    int tierOrdinal = in.get() & 0xff;
    if (tierOrdinal >= Tier.values().length) {
      throw new InvalidDescriptorException("region descriptor names unknown tier " + tierOrdinal);
    }
    long owner = in.getLong();
    long address = in.getLong();
    long key = in.getLong();
    long length = in.getLong();
    if (length < 0) {
      throw new InvalidDescriptorException("region descriptor with negative length " + length);
    }
    return new RegionDescriptor(Tier.values()[tierOrdinal], owner, address, key, length);
  }

  /** Reads a descriptor from its serialized form. */
  public static RegionDescriptor fromBytes(byte[] bytes) throws InvalidDescriptorException {
    return readFrom(ByteBuffer.wrap(bytes));
  }
}
