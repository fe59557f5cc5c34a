package io.vrdma.transport;

import java.io.IOException;

/**
 * A transport operation failed. The subclasses name the failures that callers treat differently: a
 * region that is gone, a descriptor that is invalid, a peer that is unreachable, a read that timed out,
 * a resource that is full. Messages are one line and say what to do where there is something to do.
 */
public class TransportException extends IOException {
  private static final long serialVersionUID = 1L;

  public TransportException(String message) {
    super(message);
  }

  public TransportException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The region named by a descriptor is not registered (never was, or was freed). */
  public static final class RegionNotFoundException extends TransportException {
    private static final long serialVersionUID = 1L;

    public RegionNotFoundException(String message) {
      super(message);
    }
  }

  /** A descriptor or read request is malformed or points outside what its owner registered. */
  public static final class InvalidDescriptorException extends TransportException {
    private static final long serialVersionUID = 1L;

    public InvalidDescriptorException(String message) {
      super(message);
    }
  }

  /** The peer cannot be reached, or went away while requests were in flight. */
  public static final class PeerUnavailableException extends TransportException {
    private static final long serialVersionUID = 1L;

    public PeerUnavailableException(String message) {
      super(message);
    }

    public PeerUnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A read or request did not complete within the configured timeout. */
  public static final class ReadTimeoutException extends TransportException {
    private static final long serialVersionUID = 1L;

    public ReadTimeoutException(String message) {
      super(message);
    }
  }

  /** A bounded resource (shared arena, buffer pool) has no room; the caller may use another tier. */
  public static final class ResourceFullException extends TransportException {
    private static final long serialVersionUID = 1L;

    public ResourceFullException(String message) {
      super(message);
    }
  }

  /** The two peers have no tier in common under the configured preference order. */
  public static final class NoCommonTierException extends TransportException {
    private static final long serialVersionUID = 1L;

    public NoCommonTierException(String message) {
      super(message);
    }
  }

  /** The peer answered a request with an error; the message is the peer's. */
  public static final class RemoteException extends TransportException {
    private static final long serialVersionUID = 1L;

    public RemoteException(String message) {
      super(message);
    }
  }
}
