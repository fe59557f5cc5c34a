package io.vrdma.transport.shm;

import io.vrdma.transport.TransportException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Opens the arena file, creating it sparse and owner-only when it is absent. The file may be an IVSHMEM BAR,
 * which exists with a fixed size and can be neither resized nor deleted, so an existing file is never
 * truncated or extended.
 *
 * @param channel open for reading and writing; the caller maps it and then closes it (mappings outlive it)
 * @param created whether this call created the file
 * @param size bytes of the file
 */
record ArenaFile(FileChannel channel, boolean created, long size) {

  /**
   * Opens (creating if absent) the arena file.
   *
   * @param deadline {@link System#nanoTime()} until which to wait for a file that another process has just
   *     created to get its size
   */
  static ArenaFile open(Path path, long createBytes, int chunkBytes, int maxProcesses, long deadline)
      throws TransportException {
    boolean created = false;
    if (!Files.exists(path)) {
      long max = ArenaLayout.maxArenaBytes(chunkBytes, maxProcesses);
      if (createBytes > max) {
        throw new TransportException("shm arena " + path + " cannot be created with " + createBytes
            + " bytes: with chunks of " + chunkBytes + " bytes and " + maxProcesses + " process slots its chunk"
            + " table addresses at most " + max + " bytes (use larger chunks)");
      }
      // Refuse a size that cannot hold one chunk before leaving a useless file behind.
      ArenaLayout.compute(path, createBytes, chunkBytes, maxProcesses);
      // The file is sparse: a tmpfs smaller than the arena (a container's private /dev/shm is 64 MiB) would only
      // fail once it is full, deep inside a registration, after starving every other user of that tmpfs.
      long free = usableBytes(path);
      if (free >= 0 && free < createBytes) {
        throw new TransportException("cannot create shm arena " + path + " of " + createBytes + " bytes: its file"
            + " system has only " + free + " bytes free (give it a larger tmpfs, or ask for a smaller arena)");
      }
      try {
        Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        created = true;
      } catch (FileAlreadyExistsException e) {
        // Another process created it first; use theirs.
      } catch (IOException | UnsupportedOperationException e) {
        throw new TransportException("cannot create shm arena " + path + ": " + e, e);
      }
    }
    FileChannel channel = null;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
      if (created) {
        // Writing the last byte sizes the file without truncating anything (it is new and empty).
        channel.write(ByteBuffer.allocate(1), createBytes - 1);
      }
      long size = channel.size();
      // A file just created by another process may not have its size yet.
      while (size < ArenaLayout.HEADER_BYTES && System.nanoTime() < deadline) {
        sleepBriefly(path);
        size = channel.size();
      }
      if (size < ArenaLayout.HEADER_BYTES) {
        throw new TransportException("shm arena " + path + " is only " + size + " bytes; it needs at least a "
            + ArenaLayout.HEADER_BYTES + "-byte header and one chunk");
      }
      ArenaFile file = new ArenaFile(channel, created, size);
      channel = null;
      return file;
    } catch (IOException e) {
      throw new TransportException("cannot map shm arena " + path + ": " + e, e);
    } finally {
      closeQuietly(channel);
    }
  }

  /** Bytes free to this process on the file system that is to hold {@code path}; -1 when that cannot be told. */
  private static long usableBytes(Path path) {
    Path dir = path.toAbsolutePath().getParent();
    try {
      return dir == null ? -1 : Files.getFileStore(dir).getUsableSpace();
    } catch (IOException | SecurityException e) {
      return -1; // creating the file reports what is wrong with the directory
    }
  }

  static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        // nothing was written through the channel that closing could lose
      }
    }
  }

  static void sleepBriefly(Path path) throws TransportException {
    try {
      Thread.sleep(1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TransportException("interrupted while waiting for shm arena " + path);
    }
  }
}
