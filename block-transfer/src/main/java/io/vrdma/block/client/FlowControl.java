package io.vrdma.block.client;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Bounds the bytes and reads a client has in flight, per peer and in total. Reads wait in one FIFO
 * queue and start in order as room frees up; a block larger than a bound is counted as the bound, so it
 * still goes — alone.
 */
final class FlowControl {
  private final long maxBytes;
  private final long maxRequests;
  private final long maxBytesPerPeer;
  private final long maxRequestsPerPeer;
  private final ArrayDeque<Waiter> queue = new ArrayDeque<>();
  private final Map<String, long[]> perPeer = new HashMap<>();
  private long bytes;
  private long requests;

  FlowControl(long maxBytes, long maxRequests, long maxBytesPerPeer, long maxRequestsPerPeer) {
    this.maxBytes = maxBytes;
    this.maxRequests = maxRequests;
    this.maxBytesPerPeer = maxBytesPerPeer;
    this.maxRequestsPerPeer = maxRequestsPerPeer;
  }

  private record Waiter(String peer, long bytes, Runnable start) {}

  /** The bytes a block of {@code size} counts for: its size, capped by the tightest bound. */
  long charge(long size) {
    return Math.min(size, Math.min(maxBytes, maxBytesPerPeer));
  }

  /** Runs {@code start} once the read fits; at once (on this thread) if it fits now. */
  void acquire(String peer, long charge, Runnable start) {
    List<Runnable> ready;
    synchronized (this) {
      queue.addLast(new Waiter(peer, charge, start));
      ready = grant();
    }
    ready.forEach(Runnable::run);
  }

  /** Returns the room a finished read held and starts the reads that now fit. */
  void release(String peer, long charge) {
    List<Runnable> ready;
    synchronized (this) {
      long[] p = perPeer.get(peer);
      p[0] -= charge;
      p[1]--;
      if (p[1] == 0) {
        perPeer.remove(peer);
      }
      bytes -= charge;
      requests--;
      ready = grant();
    }
    ready.forEach(Runnable::run);
  }

  synchronized long bytesInFlight() {
    return bytes;
  }

  private List<Runnable> grant() {
    List<Runnable> ready = new ArrayList<>();
    while (!queue.isEmpty()) {
      Waiter w = queue.peekFirst();
      long[] p = perPeer.computeIfAbsent(w.peer(), k -> new long[2]);
      boolean fits = bytes + w.bytes() <= maxBytes && requests < maxRequests
          && p[0] + w.bytes() <= maxBytesPerPeer && p[1] < maxRequestsPerPeer;
      if (!fits) {
        if (p[1] == 0) {
          perPeer.remove(w.peer());
        }
        break;
      }
      queue.pollFirst();
      p[0] += w.bytes();
      p[1]++;
      bytes += w.bytes();
      requests++;
      ready.add(w.start());
    }
    return ready;
  }
}
