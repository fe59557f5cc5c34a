package io.vrdma.block.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * A fetched block, owned by whoever received it: read it, then {@link #release()} it (or close it) so
 * that its pooled buffer or spill file goes back. It is reference counted like the transport's buffers,
 * in the shape of Spark's {@code ManagedBuffer}.
 */
public interface FetchedBlock extends AutoCloseable {
  /** The block's id. */
  String blockId();

  /** Bytes in the block. */
  long size();

  /** The bytes as a read-only buffer, valid until released (a spilled block is mapped). */
  ByteBuffer nioByteBuffer() throws IOException;

  /** The bytes as a stream, valid until released. */
  InputStream createInputStream() throws IOException;

  /** Adds a reference. */
  FetchedBlock retain();

  /** Drops a reference; the last frees the block's memory or file. */
  void release();

  @Override
  default void close() {
    release();
  }
}
