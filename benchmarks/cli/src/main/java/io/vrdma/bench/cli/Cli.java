package io.vrdma.bench.cli;

import java.io.PrintStream;

/**
 * The benchmark runners' exit-code convention, in one place: {@code --help} prints the usage on stdout and exits
 * {@value #OK}; a bad flag prints one line {@code error: <what> (--help for usage)} on stderr and exits
 * {@value #BAD_FLAG}; a run that throws prints one line {@code error: <exception>} and exits {@value #FAILED};
 * otherwise the exit code is what the run returns.
 */
public final class Cli {
  /** Exit code of a run that went through (whatever the numbers) and of {@code --help}. */
  public static final int OK = 0;
  /** Exit code of a run that failed. */
  public static final int FAILED = 1;
  /** Exit code for bad flags, or input the run finds unusable before it starts (a missing data folder). */
  public static final int BAD_FLAG = 2;

  private Cli() {}

  /**
   * Turns the command line into a runner's options.
   *
   * @param <O> the runner's options
   */
  @FunctionalInterface
  public interface Parser<O> {
    /**
     * Parses the command line.
     *
     * @param args the command line
     * @return the options, or null when help was asked for ({@link Flags#helpRequested()})
     * @throws BadFlag for bad flags or values
     */
    O parse(String[] args);
  }

  /**
   * Runs with parsed options.
   *
   * @param <O> the runner's options
   */
  @FunctionalInterface
  public interface Runner<O> {
    /**
     * Runs.
     *
     * @param options what {@link Parser#parse} returned
     * @return the exit code
     * @throws BadFlag for input found unusable once parsed (exit {@value Cli#BAD_FLAG}, its message as is)
     * @throws Exception when the run fails (exit {@value Cli#FAILED})
     */
    int run(O options) throws Exception;
  }

  /**
   * Parses, then runs, and maps the outcome to an exit code as the class comment says.
   *
   * @param <O> the runner's options
   * @param args the command line
   * @param usage the text {@code --help} prints
   * @param out where the usage goes
   * @param err where the one-line errors go
   * @param parser turns {@code args} into options
   * @param runner runs with them
   * @return the exit code
   */
  public static <O> int run(String[] args, String usage, PrintStream out, PrintStream err, Parser<O> parser,
      Runner<O> runner) {
    O options;
    try {
      options = parser.parse(args);
    } catch (BadFlag e) {
      err.println("error: " + e.getMessage() + " (--help for usage)");
      return BAD_FLAG;
    }
    if (options == null) {
      out.println(usage);
      return OK;
    }
    try {
      return runner.run(options);
    } catch (BadFlag e) {
      err.println("error: " + e.getMessage());
      return BAD_FLAG;
    } catch (Exception e) {
      err.println("error: " + describe(e));
      return FAILED;
    }
  }

  /**
   * {@link #run} on the process's stdout and stderr, then {@link System#exit} with its code (also when the run
   * leaves non-daemon threads behind, as Spark's and Hadoop's mini clusters do).
   *
   * @param <O> the runner's options
   * @param args the command line
   * @param usage the text {@code --help} prints
   * @param parser turns {@code args} into options
   * @param runner runs with them
   */
  public static <O> void main(String[] args, String usage, Parser<O> parser, Runner<O> runner) {
    System.exit(run(args, usage, System.out, System.err, parser, runner));
  }

  /**
   * A failure for the error line: the exception's simple class name and its message.
   *
   * @param e the failure
   * @return e.g. {@code IOException: disk full}
   */
  public static String describe(Throwable e) {
    return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }
}
