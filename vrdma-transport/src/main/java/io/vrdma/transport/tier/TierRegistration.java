package io.vrdma.transport.tier;

import io.vrdma.transport.RegionDescriptor;

/** A region registered on one tier: its descriptor, and the means to free it. */
public interface TierRegistration extends AutoCloseable {
  RegionDescriptor descriptor();

  /** Frees the tier's resources; closing twice is harmless. */
  @Override
  void close();
}
