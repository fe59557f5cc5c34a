package io.vrdma.block.client;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/** Helpers for whoever receives {@link FetchedBlock}s. */
public final class FetchedBlocks {
  private FetchedBlocks() {}

  /**
   * One block made of {@code parts}, which must be neighbours in order — stretches of one run's receive buffer
   * (or of its inline bytes) or one run's view in place — without copying a byte; empty when they are not (the caller copies them). When
   * present, the joined block holds its own references and the caller still releases {@code parts}.
   */
  public static Optional<FetchedBlock> joinInPlace(String id, List<FetchedBlock> parts) {
    if (parts.isEmpty()) {
      return Optional.empty();
    }
    FetchedBlock first = parts.get(0);
    long total = 0;
    for (int i = 0; i < parts.size(); i++) {
      FetchedBlock p = parts.get(i);
      if (i > 0 && !follows(parts.get(i - 1), p)) {
        return Optional.empty();
      }
      total += p.size();
    }
    if (first instanceof SliceBlock b) {
      return Optional.of(b.widened(id, b.offset(), (int) total));
    }
    if (first instanceof ViewBlock v) {
      // the joined block keeps every part (and so the run's lease) until it is released itself
      parts.forEach(FetchedBlock::retain);
      AtomicInteger once = new AtomicInteger();
      return Optional.of(new ViewBlock(id, v.view(), v.offset(), (int) total, () -> {
        if (once.getAndIncrement() == 0) {
          parts.forEach(FetchedBlock::release);
        }
      }));
    }
    return Optional.empty();
  }

  private static boolean follows(FetchedBlock previous, FetchedBlock next) {
    if (previous instanceof SliceBlock a && next instanceof SliceBlock b) {
      return a.isFollowedBy(b);
    }
    if (previous instanceof ViewBlock a && next instanceof ViewBlock b) {
      return a.view() == b.view() && a.offset() + a.size() == b.offset();
    }
    return false;
  }
}
