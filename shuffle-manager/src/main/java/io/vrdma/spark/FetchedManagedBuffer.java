package io.vrdma.spark;

import io.vrdma.block.client.FetchedBlock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import org.apache.spark.network.buffer.ManagedBuffer;

/** A block our client fetched, as Spark's {@link ManagedBuffer}: the same bytes and reference count. */
final class FetchedManagedBuffer extends ManagedBuffer {
  private final FetchedBlock block;

  FetchedManagedBuffer(FetchedBlock block) {
    this.block = block;
  }

  @Override
  public long size() {
    return block.size();
  }

  @Override
  public ByteBuffer nioByteBuffer() throws IOException {
    return block.nioByteBuffer();
  }

  @Override
  public InputStream createInputStream() throws IOException {
    return block.createInputStream();
  }

  @Override
  public ManagedBuffer retain() {
    block.retain();
    return this;
  }

  @Override
  public ManagedBuffer release() {
    block.release();
    return this;
  }

  /** Only Spark's servers send buffers through Netty; a fetched block is consumed on the reduce side. */
  @Override
  public Object convertToNetty() {
    throw new UnsupportedOperationException("a fetched vRDMA block is not sent on");
  }

  /** Spark 4's TLS variant of {@link #convertToNetty} (absent in Spark 3.5, hence no {@code @Override}). */
  public Object convertToNettyForSsl() {
    throw new UnsupportedOperationException("a fetched vRDMA block is not sent on");
  }

  @Override
  public String toString() {
    return "FetchedManagedBuffer[" + block.blockId() + ", " + block.size() + " bytes]";
  }
}
