package io.vrdma.block.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A block too large for any pooled buffer, assembled in a spill file that its last release deletes. */
final class FileBlock extends RefCounted {
  private final Path file;
  private final long length;

  FileBlock(String blockId, Path file, long length) {
    super(blockId);
    this.file = file;
    this.length = length;
  }

  @Override
  public long size() {
    return length;
  }

  @Override
  public ByteBuffer nioByteBuffer() throws IOException {
    if (length > Integer.MAX_VALUE) {
      throw new IOException("block " + blockId() + " of " + length + " bytes is too large for one buffer; stream it");
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      return ch.map(FileChannel.MapMode.READ_ONLY, 0, length);
    }
  }

  @Override
  public InputStream createInputStream() throws IOException {
    return Files.newInputStream(file);
  }

  @Override
  void deallocate() {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete spill file of block " + blockId(), e);
    }
  }
}
