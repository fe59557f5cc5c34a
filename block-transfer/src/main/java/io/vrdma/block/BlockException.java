package io.vrdma.block;

import io.vrdma.transport.TransportException;

/** Failures that belong to the block layer rather than to one tier. */
public class BlockException extends TransportException {
  private static final long serialVersionUID = 1L;

  public BlockException(String message) {
    super(message);
  }

  public BlockException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The server has no such block in the namespace (never published, or the namespace was dropped). */
  public static final class BlockNotFoundException extends BlockException {
    private static final long serialVersionUID = 1L;

    public BlockNotFoundException(String message) {
      super(message);
    }
  }

  /** The block's bytes did not match its checksum, twice: it was never delivered. */
  public static final class CorruptBlockException extends BlockException {
    private static final long serialVersionUID = 1L;

    public CorruptBlockException(String message) {
      super(message);
    }
  }

  /** The peer refused our proof of the shared secret, or demanded one we do not have. */
  public static final class AuthenticationException extends BlockException {
    private static final long serialVersionUID = 1L;

    public AuthenticationException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A block-protocol message that does not parse; the server closes the connection that sent it. */
  public static final class MalformedMessageException extends BlockException {
    private static final long serialVersionUID = 1L;

    public MalformedMessageException(String message) {
      super(message);
    }
  }

  /**
   * The peer was declared gone (its executor was removed): its blocks fail at once, without connect attempts or
   * retries, so the engine's own recovery (Spark's FetchFailed) starts as soon as with stock shuffle.
   */
  public static final class PeerGoneException extends BlockException {
    private static final long serialVersionUID = 1L;

    public PeerGoneException(String message) {
      super(message);
    }
  }
}
