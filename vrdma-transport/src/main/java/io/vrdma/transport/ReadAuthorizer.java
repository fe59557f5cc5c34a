package io.vrdma.transport;

/**
 * Decides whether a peer may read a region over a served tier (tcp now, verbs later: the tiers where
 * this node's server moves the bytes). The layers above set one to tie reads to their authentication:
 * a connection reads only the regions of what it proved it may see. Without one, any peer that holds a
 * descriptor may read.
 */
@FunctionalInterface
public interface ReadAuthorizer {
  /**
   * @param peer the connection asking
   * @param descriptor the descriptor the read names (its key identifies the registration)
   * @return whether to serve the read; a refusal closes the connection with one log line
   */
  boolean mayRead(InboundConnection peer, RegionDescriptor descriptor);
}
