package io.vrdma.block.server;

import io.vrdma.transport.Registration;
import io.vrdma.transport.RegionSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.zip.CRC32C;

/**
 * A published block: where its bytes lie in the file the engine wrote, where the tiers that serve files in place
 * (tcp) find them, and its CRC32C once somebody asked for it. Its bytes stay in the file; a staging tier gets a
 * copy (or a registration) of them only while a reader holds a lease.
 */
final class ServedBlock {
  final String id;
  final String namespace;
  final Path file;
  final long fileOffset;
  final long length;
  /** The registration of the map output on the in-place tiers (tcp), or null when the node has none. */
  final Registration inPlace;
  /** The block's first byte in {@link #inPlace}. */
  final long inPlaceOffset;
  /** CRC32C of the bytes, computed on first demand; races compute the same value. */
  private volatile Integer crc;
  /** The checksum being computed after a locate that promised it (checksum follows); null until one did. */
  private CompletableFuture<Integer> following;

  ServedBlock(String id, String namespace, Path file, long fileOffset, long length, Registration inPlace,
      long inPlaceOffset) {
    this.id = id;
    this.namespace = namespace;
    this.file = file;
    this.fileOffset = fileOffset;
    this.length = length;
    this.inPlace = inPlace;
    this.inPlaceOffset = inPlaceOffset;
  }

  RegionSource source() {
    return RegionSource.fileSegment(file, fileOffset, length);
  }

  Integer knownChecksum() {
    return crc;
  }

  /**
   * Begins computing the checksum from the file on {@code threads} (a locate answered that it follows): once, or
   * again after a failed try. A CHECKSUMS request waits for it.
   */
  synchronized CompletableFuture<Integer> checksumLater(Executor threads) {
    if (following == null || following.isCompletedExceptionally()) { // a failed read of the file is tried again
      Integer known = crc;
      following = known != null ? CompletableFuture.completedFuture(known)
          : CompletableFuture.supplyAsync(() -> {
            try {
              return checksum((ByteBuffer) null);
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          }, threads);
    }
    return following;
  }

  /** The checksum, read from {@code channel} (the block's file, open) when not known yet. */
  int checksum(FileChannel channel) throws IOException {
    Integer known = crc;
    if (known != null) {
      return known;
    }
    int computed = crc32c(channel, fileOffset, length);
    crc = computed;
    return computed;
  }

  /** The checksum, from {@code copy} (the block's bytes as a tier copied them) when given, else from the file. */
  int checksum(ByteBuffer copy) throws IOException {
    Integer known = crc;
    if (known != null) {
      return known;
    }
    int computed = copy != null ? crc32c(copy.duplicate()) : crc32c(file, fileOffset, length);
    crc = computed;
    return computed;
  }

  /** One read buffer per checksumming thread: the blocks of a request are checksummed one after another. */
  private static final ThreadLocal<ByteBuffer> CRC_BUFFER =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(1 << 20));

  static int crc32c(ByteBuffer bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    return (int) crc.getValue();
  }

  private static int crc32c(Path file, long offset, long length) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      return crc32c(channel, offset, length);
    }
  }

  private static int crc32c(FileChannel channel, long offset, long length) throws IOException {
    CRC32C crc = new CRC32C();
    ByteBuffer buf = CRC_BUFFER.get();
    long done = 0;
    while (done < length) {
      buf.clear().limit((int) Math.min(buf.capacity(), length - done));
      int n = channel.read(buf, offset + done);
      if (n < 0) {
        throw new IOException("file ends inside block at " + (offset + done));
      }
      crc.update(buf.flip());
      done += n;
    }
    return (int) crc.getValue();
  }

  @Override
  public String toString() {
    return "block " + id + " of " + namespace + " (" + length + " bytes of " + file + " at " + fileOffset + ")";
  }
}
