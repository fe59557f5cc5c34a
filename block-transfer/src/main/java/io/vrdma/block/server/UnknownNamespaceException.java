package io.vrdma.block.server;

import io.vrdma.block.BlockException;

/**
 * A request named a namespace this block server does not serve: never created here, or dropped. It fails that
 * request only; the peer learns it from the error answer's message, which starts with {@link #MESSAGE_PREFIX}.
 */
public final class UnknownNamespaceException extends BlockException {
  private static final long serialVersionUID = 1L;

  /** How the error answer's message starts, so that a reader can tell this refusal from a broken server. */
  public static final String MESSAGE_PREFIX = "unknown namespace ";

  public UnknownNamespaceException(String namespace) {
    super(MESSAGE_PREFIX + namespace + ": not served by this block server");
  }
}
