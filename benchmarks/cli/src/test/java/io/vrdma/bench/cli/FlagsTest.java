package io.vrdma.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Every value type of {@link Flags} and the exact line of each of its errors. */
class FlagsTest {
  /** The flag's value read with {@code read}, after moving to the flag. */
  private static <T> T read(Function<Flags, T> read, String... args) {
    Flags f = new Flags(args);
    assertTrue(f.next());
    return read.apply(f);
  }

  /** The message of the BadFlag that reading the first flag's value with {@code read} throws. */
  private static String error(Function<Flags, ?> read, String... args) {
    return assertThrows(BadFlag.class, () -> read(read, args)).getMessage();
  }

  @Test
  void walksFlagValuePairsInOrder() {
    Flags f = new Flags("--a", "1", "--b", "x");
    assertTrue(f.next());
    assertEquals("--a", f.flag());
    assertEquals("1", f.value());
    assertTrue(f.next());
    assertEquals("--b", f.flag());
    assertEquals("x", f.value());
    assertFalse(f.next());
    assertFalse(new Flags().next());
  }

  @Test
  void helpAnywhereOnTheLineIsHelpAndStopsTheWalkBeforeAnyCheck() {
    assertTrue(new Flags("--help").helpRequested());
    Flags f = new Flags("stray", "--rounds", "x", "-h");
    assertTrue(f.helpRequested());
    assertFalse(f.next());
    assertFalse(new Flags("--rounds", "3").helpRequested());
    assertFalse(new Flags().helpRequested());
  }

  @Test
  void aTokenThatIsNoFlagIsUnexpected() {
    Flags f = new Flags("stray");
    assertEquals("unexpected argument 'stray'", assertThrows(BadFlag.class, f::next).getMessage());
  }

  @Test
  void aFlagAtTheEndNeedsAValue() {
    assertEquals("--rounds needs a value", error(Flags::value, "--rounds"));
    assertEquals("--rounds needs a value", error(Flags::positiveInt, "--rounds"));
  }

  @Test
  void unknownAndBadNameTheFlag() {
    Flags f = new Flags("--bogus", "1");
    f.next();
    assertEquals("unknown flag --bogus", f.unknown().getMessage());
    assertEquals("--bogus is not a size: 1", f.bad("is not a size: 1").getMessage());
  }

  @Test
  void askingForAFlagBeforeNextIsAProgrammingError() {
    assertThrows(IllegalStateException.class, () -> new Flags("--a", "1").value());
  }

  @Test
  void wholeNumbersWithBoundsAndDigitGroups() {
    assertEquals(Long.valueOf(1_000_000L), read(Flags::positiveLong, "--records", "1_000_000"));
    assertEquals(Integer.valueOf(0), read(f -> f.intAtLeast(0), "--warmup", " 0 "));
    assertEquals(Long.valueOf(5_000_000_000L), read(f -> f.longAtLeast(1), "--rows", "5000000000"));
    assertEquals("--records takes a whole number, got 'x'", error(Flags::positiveLong, "--records", "x"));
    assertEquals("--records takes a whole number, got '1.5'", error(Flags::positiveInt, "--records", "1.5"));
    assertEquals("--rounds must be at least 1, got 0", error(Flags::positiveInt, "--rounds", "0"));
    assertEquals("--executor-mb must be at least 512, got 100", error(f -> f.intAtLeast(512), "--executor-mb",
        "100"));
    assertEquals("--rounds must be at least 1, got -1", error(Flags::positiveLong, "--rounds", "-1"));
    assertEquals("--rounds must be at most 2147483647, got 2147483648", error(Flags::positiveInt, "--rounds",
        "2147483648"));
  }

  @Test
  void pathsAreTakenAsGiven() {
    assertEquals(Path.of("out", "x"), read(Flags::path, "--out", "out/x"));
  }

  @Test
  void listsAreTrimmedDeduplicatedAndNeverEmpty() {
    assertEquals(List.of("a", "b"), read(Flags::list, "--l", " a, b,,a "));
    assertEquals("--l names nothing", error(Flags::list, "--l", " , "));
  }

  @Test
  void namesMustBeKnownAndTheErrorListsThem() {
    List<String> few = List.of("stock", "vrdma");
    assertEquals(List.of("vrdma", "stock"), read(f -> f.names(few), "--configs", "vrdma,stock,vrdma"));
    assertEquals("--configs: unknown 'x' (known: stock, vrdma)", error(f -> f.names(few), "--configs", "stock,x"));
    assertEquals("--configs names nothing", error(f -> f.names(few), "--configs", ","));
    List<String> many = List.of("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q99");
    assertEquals("--queries: unknown 'q0' (known: q1 .. q99)", error(f -> f.names(many), "--queries", "q0"));
    assertEquals(List.of("q9", "q1"), read(f -> f.allKnown(f.list(), many), "--queries", "q9,q1"));
    assertEquals("--queries: unknown 'all' (known: q1 .. q99)", error(f -> f.allKnown(f.list(), many), "--queries",
        "q1,all"));
  }

  @Test
  void oneOfTakesASingleKnownValue() {
    List<String> tiers = List.of("shm", "verbs", "tcp");
    assertEquals("tcp", read(f -> f.oneOf(tiers), "--expect-tier", "tcp"));
    assertEquals("--expect-tier: unknown 'shm,tcp' (known: shm, verbs, tcp)", error(f -> f.oneOf(tiers),
        "--expect-tier", "shm,tcp"));
    assertEquals("--expect-tier needs a value", error(f -> f.oneOf(tiers), "--expect-tier"));
  }

  @Test
  void sizesTakeBinaryUnitsAndABound() {
    assertEquals(List.of(4096, 1 << 20, 100, 1 << 30), read(f -> f.sizes(Integer.MAX_VALUE), "--sizes",
        "4k, 1M,100,4k,1g"));
    assertEquals("--sizes takes sizes such as 4k,64k,1m, got 'lots'", error(f -> f.sizes(16 << 20), "--sizes",
        "4k,lots"));
    assertEquals("--sizes takes sizes such as 4k,64k,1m, got '0'", error(f -> f.sizes(16 << 20), "--sizes", "0"));
    assertEquals("--sizes takes sizes such as 4k,64k,1m, got '-4k'", error(f -> f.sizes(16 << 20), "--sizes",
        "-4k"));
    assertEquals("--sizes takes sizes such as 4k,64k,1m, got '99999999999999999g'", error(f -> f.sizes(16 << 20),
        "--sizes", "99999999999999999g"));
    assertEquals("--sizes size 32m is outside 1 byte .. 16m", error(f -> f.sizes(16 << 20), "--sizes", "32m"));
    assertEquals("--sizes names nothing", error(f -> f.sizes(16 << 20), "--sizes", ","));
  }

  @Test
  void oneSizeMayExceedAnInt() {
    assertEquals(Long.valueOf(2L << 30), read(f -> f.size(1L << 40), "--arena", "2g"));
    assertEquals(Long.valueOf(128L << 20), read(f -> f.size(1L << 40), "--arena", "128m"));
    assertEquals("--arena takes a size such as 128m or 2g, got 'big'", error(f -> f.size(1L << 40), "--arena",
        "big"));
    assertEquals("--arena size 4g is outside 1 byte .. 2g", error(f -> f.size(2L << 30), "--arena", "4g"));
  }

  @Test
  void sizeTextIsTheShortestUnit() {
    assertEquals("16m", Flags.sizeText(16 << 20));
    assertEquals("4k", Flags.sizeText(4096));
    assertEquals("2g", Flags.sizeText(2L << 30));
    assertEquals("100", Flags.sizeText(100));
    assertEquals("0", Flags.sizeText(0));
  }
}
