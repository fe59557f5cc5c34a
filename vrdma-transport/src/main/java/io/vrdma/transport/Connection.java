package io.vrdma.transport;

import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.security.SessionKeys;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A connection from this node to a peer: one-sided reads of the peer's registered regions and a small
 * request/response control channel. Every connection has a control channel over the host network; the
 * data of a read takes the tier named by its descriptor, so a caller that falls back from shm to tcp
 * keeps the same connection and passes the tcp descriptor.
 *
 * <p>All operations are asynchronous, many may be in flight, and each completes exactly once: with
 * success, or with a {@link TransportException} (the region is gone, the descriptor is invalid, the
 * peer went away, the timeout passed).
 */
public interface Connection extends AutoCloseable {
  /** The tier chosen for this peer from both sides' advertisements. */
  Tier tier();

  /** What the peer advertised when the connection was made. */
  NodeAdvertisement peer();

  /**
   * Reads {@code length} bytes from {@code offset} of a remote region into {@code dst} at
   * {@code dstOffset}. The connection holds a reference on {@code dst} until the read completes, so
   * the caller may release its own reference at any time; the bytes are there once the future succeeds.
   */
  CompletableFuture<Void> read(RegionDescriptor region, long offset, int length, PooledBuffer dst,
      int dstOffset);

  /**
   * A window onto {@code length} bytes from {@code offset} of a remote region, without copying, when the
   * descriptor's tier maps the peer's memory (shm); empty when bytes must be copied with {@link #read}. See
   * {@link RegionView} for how long the window can be trusted.
   *
   * @throws TransportException when the read would fail: the connection is closed, the region is gone, the
   *     descriptor is invalid or names a tier this connection lacks
   */
  Optional<RegionView> view(RegionDescriptor region, long offset, int length) throws TransportException;

  /** Sends a control message; the future gets the peer's answer. The message is read, not kept. */
  CompletableFuture<ByteBuffer> request(ByteBuffer message);

  /**
   * From now on, every byte this connection sends or receives is an AES-GCM record under {@code keys}
   * ({@link io.vrdma.transport.security.AesGcmCodec}). Call it when the peer has just answered the request that
   * agreed on the keys and before sending anything else: the layer above (the block layer's proof of the
   * namespace secret) guarantees that no request is in flight then.
   *
   * @throws TransportException when the connection is closed or the switch did not happen on its event loop
   */
  void startEncryption(SessionKeys keys) throws TransportException;

  /** Whether {@link #startEncryption} has switched this connection to encrypted records. */
  boolean encrypted();

  /** False once the connection is closed or the peer has gone. */
  boolean isActive();

  /** Closes the connection; reads and requests in flight fail. */
  @Override
  void close();
}
