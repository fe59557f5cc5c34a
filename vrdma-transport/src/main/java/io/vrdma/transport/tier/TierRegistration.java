package io.vrdma.transport.tier;

import io.vrdma.transport.RegionDescriptor;

/** A region registered on one tier: its descriptor, and the means to free it. */
public interface TierRegistration extends AutoCloseable {
  RegionDescriptor descriptor();

  /** Frees the tier's resources; closing twice is harmless. */
  @Override
  void close();

  /** A registration whose closing runs {@code free} once, however often it is closed. */
  static TierRegistration of(RegionDescriptor descriptor, Runnable free) {
    java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    return new TierRegistration() {
      @Override
      public RegionDescriptor descriptor() {
        return descriptor;
      }

      @Override
      public void close() {
        if (closed.compareAndSet(false, true)) {
          free.run();
        }
      }
    };
  }
}
