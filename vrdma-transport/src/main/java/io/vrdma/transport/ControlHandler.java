package io.vrdma.transport;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Serves the control messages that peers send to this node (the layers above put their protocol here:
 * block location, authentication). An answer completes the future; an exception fails the peer's
 * request with its message.
 */
@FunctionalInterface
public interface ControlHandler {
  /**
   * @param peer the connection the request came on, with room for per-connection state
   * @param request the message; valid only during this call
   */
  CompletableFuture<ByteBuffer> handle(InboundConnection peer, ByteBuffer request) throws Exception;
}
