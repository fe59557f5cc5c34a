package io.vrdma.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The exit-code convention: what each outcome prints where, and the code it exits with. */
class CliTest {
  private static final String USAGE = "usage: x [--rounds N]";

  private record Outcome(int exit, String out, String err) {}

  /** A parser of one flag, --rounds N (N >= 1). */
  private static Integer parse(String[] args) {
    Flags f = new Flags(args);
    int rounds = 3;
    while (f.next()) {
      switch (f.flag()) {
        case "--rounds" -> rounds = f.positiveInt();
        default -> throw f.unknown();
      }
    }
    return f.helpRequested() ? null : rounds;
  }

  private static Outcome run(Cli.Runner<Integer> runner, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = Cli.run(args, USAGE, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), CliTest::parse, runner);
    return new Outcome(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void helpPrintsTheUsageOnStdoutExitsZeroAndDoesNotRun() {
    AtomicBoolean ran = new AtomicBoolean();
    Outcome o = run(rounds -> {
      ran.set(true);
      return 0;
    }, "--rounds", "x", "--help");
    assertEquals(new Outcome(Cli.OK, USAGE + System.lineSeparator(), ""), o);
    assertFalse(ran.get());
  }

  @Test
  void aBadFlagIsOneLineOnStderrAndExitTwo() {
    AtomicBoolean ran = new AtomicBoolean();
    Cli.Runner<Integer> runner = rounds -> {
      ran.set(true);
      return 0;
    };
    assertEquals(new Outcome(Cli.BAD_FLAG, "", "error: unknown flag --bogus (--help for usage)"
        + System.lineSeparator()), run(runner, "--bogus", "1"));
    assertEquals(new Outcome(Cli.BAD_FLAG, "", "error: --rounds needs a value (--help for usage)"
        + System.lineSeparator()), run(runner, "--rounds"));
    assertEquals(new Outcome(Cli.BAD_FLAG, "", "error: unexpected argument 'x' (--help for usage)"
        + System.lineSeparator()), run(runner, "x"));
    assertFalse(ran.get());
    assertEquals(2, Cli.BAD_FLAG);
  }

  @Test
  void theRunsExitCodeIsTheProcesses() {
    assertEquals(new Outcome(0, "", ""), run(rounds -> 0));
    assertEquals(new Outcome(7, "", ""), run(rounds -> rounds + 2, "--rounds", "5"));
  }

  @Test
  void aBadFlagFoundByTheRunIsItsLineAndExitTwo() {
    assertEquals(new Outcome(Cli.BAD_FLAG, "", "error: --data /nope: no such directory" + System.lineSeparator()),
        run(rounds -> {
          throw new BadFlag("--data /nope: no such directory");
        }));
  }

  @Test
  void aFailedRunIsOneLineNamingTheExceptionAndExitOne() {
    assertEquals(new Outcome(Cli.FAILED, "", "error: IOException: disk full" + System.lineSeparator()),
        run(rounds -> {
          throw new IOException("disk full");
        }));
    assertEquals(new Outcome(Cli.FAILED, "", "error: IllegalStateException" + System.lineSeparator()),
        run(rounds -> {
          throw new IllegalStateException();
        }));
    assertEquals(1, Cli.FAILED);
    assertEquals(0, Cli.OK);
  }
}
