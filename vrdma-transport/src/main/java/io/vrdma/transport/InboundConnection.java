package io.vrdma.transport;

import java.net.SocketAddress;
import java.util.concurrent.ConcurrentMap;

/** The server's side of a connection from a peer, as its {@link ControlHandler} sees it. */
public interface InboundConnection {
  /** What the peer advertised in its handshake. */
  NodeAdvertisement peer();

  /** The peer's socket address. */
  SocketAddress remoteAddress();

  /** State that the layers above keep per connection (for instance: authenticated). */
  ConcurrentMap<String, Object> attributes();

  /**
   * Runs {@code action} once when the connection closes, for whatever reason (the peer went away, it was
   * dropped); at once when it is closed already. The layers above free what they hold for the peer there.
   */
  void onClose(Runnable action);

  /**
   * Everything after the answer to the control request being handled is encrypted both ways under
   * {@code keys}: the answer itself still goes in plaintext (the peer switches when it has it). Call it only
   * from within {@link ControlHandler#handle}, for a request whose answer is completed there.
   */
  void startEncryptionAfterAnswer(io.vrdma.transport.security.SessionKeys keys);

  /** Whether the connection is encrypted (after the answer that switched it). */
  boolean encrypted();

  /** Drops the connection, for instance after a failed authentication. */
  void close();
}
