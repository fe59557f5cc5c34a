package io.vrdma.block.server;

import java.util.concurrent.atomic.LongAdder;

/**
 * What a block server's staging window did: blocks and bytes placed in it, requests that found it full and
 * waited, blocks that went over tcp because it stayed full (the last resort), and leases taken back from readers
 * that went away or stalled.
 */
public final class StagingMetrics {
  private final LongAdder stagedBlocks = new LongAdder();
  private final LongAdder stagedRuns = new LongAdder();
  private final LongAdder stagedBytes = new LongAdder();
  private final LongAdder waits = new LongAdder();
  private final LongAdder fallbackBlocks = new LongAdder();
  private final LongAdder fallbackBytes = new LongAdder();
  private final LongAdder reclaimed = new LongAdder();
  private final LongAdder expired = new LongAdder();
  private final LongAdder inlineBlocks = new LongAdder();
  private final LongAdder inlineBytes = new LongAdder();

  void staged(int blocks, long bytes) {
    stagedRuns.increment();
    stagedBlocks.add(blocks);
    stagedBytes.add(bytes);
  }

  void inlined(int blocks, long bytes) {
    inlineBlocks.add(blocks);
    inlineBytes.add(bytes);
  }

  void waited() {
    waits.increment();
  }

  void fellBack(int blocks, long bytes) {
    fallbackBlocks.add(blocks);
    fallbackBytes.add(bytes);
  }

  void reclaimed(int leases) {
    reclaimed.add(leases);
  }

  void expired(int leases) {
    expired.add(leases);
  }

  /** Blocks whose bytes went in locate answers (small runs: never staged). */
  public long inlineBlocks() {
    return inlineBlocks.sum();
  }

  /** Bytes of {@link #inlineBlocks()}. */
  public long inlineBytes() {
    return inlineBytes.sum();
  }

  /** Blocks placed in the window (a block staged twice counts twice). */
  public long stagedBlocks() {
    return stagedBlocks.sum();
  }

  /** Runs placed in the window: one copy (or registration) and one lease each, for one or more blocks. */
  public long stagedRuns() {
    return stagedRuns.sum();
  }

  /** Bytes placed in the window. */
  public long stagedBytes() {
    return stagedBytes.sum();
  }

  /**
   * Locate requests that found the window full (or their reader at its limit): answered in part, the rest deferred,
   * or made to wait for room.
   */
  public long windowWaits() {
    return waits.sum();
  }

  /** Blocks answered with their tcp place because the window had no room for them. */
  public long windowFallbackBlocks() {
    return fallbackBlocks.sum();
  }

  /** Bytes of {@link #windowFallbackBlocks()}. */
  public long windowFallbackBytes() {
    return fallbackBytes.sum();
  }

  /** Leases taken back because their reader's connection closed. */
  public long leasesReclaimed() {
    return reclaimed.sum();
  }

  /** Leases taken back because their reader did not give them back within the lease timeout. */
  public long leasesExpired() {
    return expired.sum();
  }

  @Override
  public String toString() {
    return "staged " + stagedBlocks() + " blocks/" + stagedBytes() + " B, inline " + inlineBlocks() + " blocks/"
        + inlineBytes() + " B, window waits " + windowWaits()
        + ", window fallbacks " + windowFallbackBlocks() + " blocks/" + windowFallbackBytes() + " B, leases reclaimed "
        + leasesReclaimed() + ", expired " + leasesExpired();
  }
}
