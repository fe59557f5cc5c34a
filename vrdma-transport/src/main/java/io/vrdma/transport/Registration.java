package io.vrdma.transport;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;

/**
 * A region registered on one or more tiers of a node. Each tier gives its own descriptor; a peer reads
 * with the descriptor of the tier its connection uses. Closing the registration frees every tier's
 * resources (arena space, server table entry, memory registration); descriptors handed out before then
 * become invalid and reads with them fail cleanly.
 */
public interface Registration extends AutoCloseable {
  /** Bytes in the region. */
  long length();

  /** The descriptor on a tier, empty when the region is not registered there (tier off, arena full). */
  Optional<RegionDescriptor> descriptor(Tier tier);

  /** Every tier's descriptor. */
  Map<Tier, RegionDescriptor> descriptors();

  /**
   * The region's bytes as one of its tiers copied them into this process's memory (the shm arena), read-only,
   * position 0; empty when no tier made a copy. Reading it spares reading the source again. Valid until the
   * registration is closed.
   */
  Optional<ByteBuffer> copy();

  /** Frees the region on every tier. Closing twice is harmless. */
  @Override
  void close();
}
