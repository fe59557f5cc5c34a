package io.vrdma.transport.tier;

import io.vrdma.transport.RegionDescriptor;
import java.nio.ByteBuffer;
import java.util.Optional;

/** A region registered on one tier: its descriptor, and the means to free it. */
public interface TierRegistration extends AutoCloseable {
  RegionDescriptor descriptor();

  /** Frees the tier's resources; closing twice is harmless. */
  @Override
  void close();

  /**
   * The region's bytes as this tier holds them in this process's memory, read-only, when the tier made its own
   * copy (the shm arena); empty when it serves the source itself. Valid until the registration is closed.
   */
  default Optional<ByteBuffer> copy() {
    return Optional.empty();
  }

  /** A registration whose closing runs {@code free} once, however often it is closed. */
  static TierRegistration of(RegionDescriptor descriptor, Runnable free) {
    return of(descriptor, null, free);
  }

  /** As {@link #of(RegionDescriptor, Runnable)}, for a tier that holds its own {@link #copy()} of the bytes. */
  static TierRegistration of(RegionDescriptor descriptor, ByteBuffer copy, Runnable free) {
    java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    return new TierRegistration() {
      @Override
      public RegionDescriptor descriptor() {
        return descriptor;
      }

      @Override
      public Optional<ByteBuffer> copy() {
        return copy == null ? Optional.empty() : Optional.of(copy.asReadOnlyBuffer());
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
