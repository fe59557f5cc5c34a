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

  /** Drops the connection, for instance after a failed authentication. */
  void close();
}
