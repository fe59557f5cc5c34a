package io.vrdma.bench.cli;

/**
 * Bad command-line input: its message is the one line a runner prints after {@code error: } before it exits with
 * {@link Cli#BAD_FLAG}. Unchecked, and an {@link IllegalArgumentException}, so that a parser can be called where
 * no checked exception is expected (tests, lambdas) and callers that catch bad arguments in general still do.
 */
public class BadFlag extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /**
   * A bad flag or value.
   *
   * @param message what is wrong, in one line, naming the flag and the value given
   */
  public BadFlag(String message) {
    super(message);
  }
}
