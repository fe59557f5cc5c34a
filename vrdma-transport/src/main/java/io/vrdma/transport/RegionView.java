package io.vrdma.transport;

import java.nio.ByteBuffer;

/**
 * A read-only window onto part of a peer's registered region, made without copying a byte: the shm tier maps
 * the peer's arena, so a reader can consume the bytes where they lie. The owner may free the region at any
 * time (its shuffle is dropped, its process dies and is reclaimed), after which the window would show whatever
 * a later owner writes there; so whoever reads through a view calls {@link #checkValid()} after reading, and
 * distrusts what it read when that fails — the validate–read–validate of a copying read, stretched over the
 * whole time the bytes are used.
 */
public interface RegionView {
  /** Bytes in the window. */
  int length();

  /** The bytes: a fresh read-only buffer, position 0, limit {@link #length()}. */
  ByteBuffer buffer();

  /**
   * Checks that the region is still the one the view was made of.
   *
   * @throws TransportException.RegionNotFoundException when it was freed since (bytes read through the view
   *     may then be another region's)
   * @throws TransportException when the mapping was closed
   */
  void checkValid() throws TransportException;
}
