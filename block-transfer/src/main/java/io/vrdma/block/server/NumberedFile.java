package io.vrdma.block.server;

import io.vrdma.transport.Registration;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A published file whose blocks lie back to back from its first byte, named by a prefix and their index: one object per
 * file where {@link ServedBlock}s would be one per block. A block's {@link ServedBlock} is made the first time a
 * reader asks for it and kept (it carries the block's checksum once computed).
 */
final class NumberedFile {
  private final String namespace;
  private final Path file;
  /** Block i lies in [offsets[i], offsets[i + 1]). */
  private final long[] offsets;
  private final Registration inPlace;
  private final AtomicReferenceArray<ServedBlock> made;

  NumberedFile(String namespace, Path file, long[] offsets, Registration inPlace) {
    this.namespace = namespace;
    this.file = file;
    this.offsets = offsets;
    this.inPlace = inPlace;
    this.made = new AtomicReferenceArray<>(offsets.length - 1);
  }

  /** Where each block starts, and the file's end last, from the blocks' lengths. */
  static long[] offsets(long[] lengths) {
    long[] offsets = new long[lengths.length + 1];
    for (int i = 0; i < lengths.length; i++) {
      if (lengths[i] < 0) {
        throw new IllegalArgumentException("block " + i + " with negative length " + lengths[i]);
      }
      offsets[i + 1] = offsets[i] + lengths[i];
    }
    return offsets;
  }

  /** Block {@code index}, named {@code id} (the prefix and the index), or null when the file has no such block. */
  ServedBlock block(int index, String id) {
    if (index < 0 || index >= made.length()) {
      return null;
    }
    ServedBlock block = made.get(index);
    if (block == null) {
      long offset = offsets[index];
      block = new ServedBlock(id, namespace, file, offset, offsets[index + 1] - offset, inPlace, offset);
      if (!made.compareAndSet(index, null, block)) {
        block = made.get(index); // another reader made it first: one object per block, one checksum
      }
    }
    return block;
  }
}
