package io.vrdma.block.client;

import io.vrdma.transport.Tier;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a block client has moved and how: bytes and blocks per tier, and the retries, tier fallbacks,
 * corruption refetches and failures it went through. The layers above read it for their own metrics.
 */
public final class BlockClientMetrics {
  private final Map<Tier, LongAdder> bytes = new EnumMap<>(Tier.class);
  private final Map<Tier, LongAdder> blocks = new EnumMap<>(Tier.class);
  private final LongAdder retries = new LongAdder();
  private final LongAdder fallbacks = new LongAdder();
  private final LongAdder corruptRefetches = new LongAdder();
  private final LongAdder failures = new LongAdder();
  private final LongAdder deferred = new LongAdder();
  private final LongAdder poolWaits = new LongAdder();
  private final LongAdder inlineBytes = new LongAdder();
  private final LongAdder inlineBlocks = new LongAdder();
  /** The tier of the blocks being handed to a listener on this thread: delivery follows the count synchronously. */
  private final ThreadLocal<Tier> deliveringTier = new ThreadLocal<>();

  BlockClientMetrics() {
    for (Tier t : Tier.values()) {
      bytes.put(t, new LongAdder());
      blocks.put(t, new LongAdder());
    }
  }

  void delivered(Tier tier, long size) {
    bytes.get(tier).add(size);
    blocks.get(tier).increment();
    deliveringTier.set(tier);
  }

  /**
   * Called from a listener's {@code onBlockFetchSuccess}: the tier the block being delivered came over (the client
   * counts a block and hands it to the listener on the same thread, so a listener can time reads per tier). Outside
   * a delivery, the tier of the last block delivered on the calling thread, or null.
   */
  public Tier deliveringTier() {
    return deliveringTier.get();
  }

  /** A block whose bytes came in the locate answer (also counted under its connection's tier). */
  void deliveredInline(long size) {
    inlineBytes.add(size);
    inlineBlocks.increment();
  }

  /**
   * Bytes of blocks that came inline, in locate answers over the control connection; they are part of
   * {@link #bytes(Tier)} of the tier the reader's connection used.
   */
  public long inlineBytes() {
    return inlineBytes.sum();
  }

  /** Blocks of {@link #inlineBytes()}. */
  public long inlineBlocks() {
    return inlineBlocks.sum();
  }

  void retried() {
    retries.increment();
  }

  void fellBack() {
    fallbacks.increment();
  }

  void refetchedCorrupt() {
    corruptRefetches.increment();
  }

  void failed() {
    failures.increment();
  }

  void waitedForPool() {
    poolWaits.increment();
  }

  /** Times a read waited for a pooled receive buffer (back-pressure from the consumer, never a failure). */
  public long poolWaits() {
    return poolWaits.sum();
  }

  void deferred(int blocks) {
    deferred.add(blocks);
  }

  /** Blocks a server could not place in its window at once and that were asked for again. */
  public long deferredBlocks() {
    return deferred.sum();
  }

  /** Bytes of blocks delivered that came over a tier. */
  public long bytes(Tier tier) {
    return bytes.get(tier).sum();
  }

  /** Blocks delivered that came over a tier. */
  public long blocks(Tier tier) {
    return blocks.get(tier).sum();
  }

  /** Times a block was tried again after failing on every tier. */
  public long retries() {
    return retries.sum();
  }

  /** Times a block's read moved to the next tier after a failure. */
  public long fallbacks() {
    return fallbacks.sum();
  }

  /** Times a block was fetched again because its checksum did not match. */
  public long corruptRefetches() {
    return corruptRefetches.sum();
  }

  /** Blocks reported to a listener as failed. */
  public long failures() {
    return failures.sum();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("blocks");
    for (Tier t : Tier.values()) {
      sb.append(' ').append(t.configName()).append('=').append(blocks(t)).append('/').append(bytes(t)).append('B');
    }
    return sb.append(", retries=").append(retries()).append(", fallbacks=").append(fallbacks())
        .append(", corrupt refetches=").append(corruptRefetches()).append(", failures=").append(failures()).toString();
  }
}
