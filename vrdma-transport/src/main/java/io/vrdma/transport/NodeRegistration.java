package io.vrdma.transport;

import io.vrdma.transport.tier.TierRegistration;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/** A {@link Registration} made by a {@link TransportNode}: one registration per tier. */
final class NodeRegistration implements Registration {
  private final long length;
  private final Map<Tier, TierRegistration> perTier;
  private final Map<Tier, RegionDescriptor> descriptors = new EnumMap<>(Tier.class);
  private final AtomicBoolean closed = new AtomicBoolean();

  NodeRegistration(long length, Map<Tier, TierRegistration> perTier) {
    this.length = length;
    this.perTier = perTier;
    perTier.forEach((tier, r) -> descriptors.put(tier, r.descriptor()));
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public Optional<RegionDescriptor> descriptor(Tier tier) {
    return Optional.ofNullable(descriptors.get(tier));
  }

  @Override
  public Map<Tier, RegionDescriptor> descriptors() {
    return Collections.unmodifiableMap(descriptors);
  }

  @Override
  public Optional<ByteBuffer> copy() {
    for (TierRegistration r : perTier.values()) {
      Optional<ByteBuffer> copy = r.copy();
      if (copy.isPresent()) {
        return copy;
      }
    }
    return Optional.empty();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      perTier.values().forEach(TierRegistration::close);
    }
  }
}
