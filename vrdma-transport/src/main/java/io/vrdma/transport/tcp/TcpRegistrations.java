package io.vrdma.transport.tcp;

import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Tier;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The regions a node serves on the tcp tier, by key. Keys are random 64-bit numbers, so a peer cannot
 * reach a region by counting; the layers above still decide which peers get which descriptors. Each key
 * remembers the socket tier it was registered for (tcp or rsocket), so that a read is authorized against the
 * very descriptor the peer was given.
 */
public final class TcpRegistrations {
  private record Entry(RegionSource source, Tier tier) {}

  private final Map<Long, Entry> regions = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final OpenFiles openFiles = new OpenFiles();

  /** Adds a region for the tcp tier and returns its key. */
  public long add(RegionSource source) {
    return add(source, Tier.TCP);
  }

  /** Adds a region for a socket tier (tcp or rsocket) and returns its key. */
  public long add(RegionSource source, Tier tier) {
    Entry entry = new Entry(source, tier);
    while (true) {
      long key = random.nextLong();
      if (key != 0 && regions.putIfAbsent(key, entry) == null) {
        return key;
      }
    }
  }

  /** The region of a key, or null. */
  public RegionSource get(long key) {
    Entry e = regions.get(key);
    return e == null ? null : e.source();
  }

  /** The tier a key was registered for; {@link Tier#TCP} for an unknown key (its read is refused anyway). */
  public Tier tierOf(long key) {
    Entry e = regions.get(key);
    return e == null ? Tier.TCP : e.tier();
  }

  public void remove(long key) {
    Entry removed = regions.remove(key);
    RegionSource gone = removed == null ? null : removed.source();
    if (gone instanceof RegionSource.FileSegment file) {
      openFiles.forget(file.file());
    }
  }

  /** The open files reads of file segments are served from. */
  OpenFiles openFiles() {
    return openFiles;
  }

  public int size() {
    return regions.size();
  }
}
