package io.vrdma.transport.tcp;

import io.vrdma.transport.RegionSource;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The regions a node serves on the tcp tier, by key. Keys are random 64-bit numbers, so a peer cannot
 * reach a region by counting; the layers above still decide which peers get which descriptors.
 */
public final class TcpRegistrations {
  private final Map<Long, RegionSource> regions = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final OpenFiles openFiles = new OpenFiles();

  /** Adds a region and returns its key. */
  public long add(RegionSource source) {
    while (true) {
      long key = random.nextLong();
      if (key != 0 && regions.putIfAbsent(key, source) == null) {
        return key;
      }
    }
  }

  /** The region of a key, or null. */
  public RegionSource get(long key) {
    return regions.get(key);
  }

  public void remove(long key) {
    RegionSource gone = regions.remove(key);
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
