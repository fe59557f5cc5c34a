package io.vrdma.bench.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A cursor over {@code --flag value} pairs, giving each value typed and checked, and a {@link BadFlag} with one
 * line that names the flag and the value given for anything wrong. The usual loop:
 *
 * <pre>{@code
 * Flags f = new Flags(args);
 * while (f.next()) {
 *   switch (f.flag()) {
 *     case "--rounds" -> rounds = f.positiveInt();
 *     case "--out" -> out = f.path();
 *     default -> throw f.unknown();
 *   }
 * }
 * return f.helpRequested() ? null : new Options(rounds, out);
 * }</pre>
 *
 * <p>{@code --help} (or {@code -h}) anywhere on the line wins: then {@link #next()} stops at once, so that no other
 * flag is checked, and the parser returns null, which {@link Cli#run} answers with the usage.
 *
 * <p>Every flag takes exactly one value: the runners have no switches besides {@code --help}.
 */
public final class Flags {
  private final String[] args;
  private final boolean help;
  /** Index of the next token to read. */
  private int next;
  /** The flag {@link #next()} stopped at. */
  private String flag;

  /**
   * A cursor before the first argument.
   *
   * @param args the command line, as given to {@code main}
   */
  public Flags(String... args) {
    this.args = args.clone();
    this.help = List.of(args).contains("--help") || List.of(args).contains("-h");
  }

  /**
   * Whether {@code --help} or {@code -h} stands anywhere on the command line: then the usage is all that is
   * wanted, whatever else is there, so no other flag is checked.
   *
   * @return true if help was asked for
   */
  public boolean helpRequested() {
    return help;
  }

  /**
   * Moves to the next flag.
   *
   * @return false at the end of the command line, and at once when {@link #helpRequested() help} was asked for
   * @throws BadFlag if the next token is not a flag (does not start with {@code -})
   */
  public boolean next() {
    if (help || next >= args.length) {
      flag = null;
      return false;
    }
    String token = args[next++];
    if (!token.startsWith("-")) {
      throw new BadFlag("unexpected argument '" + token + "'");
    }
    flag = token;
    return true;
  }

  /**
   * The current flag, as typed.
   *
   * @return the flag {@link #next()} moved to
   * @throws IllegalStateException if {@link #next()} has not moved to a flag
   */
  public String flag() {
    if (flag == null) {
      throw new IllegalStateException("no current flag: call next() first");
    }
    return flag;
  }

  /**
   * The current flag's value, unchecked; consumes it.
   *
   * @return the token after the flag
   * @throws BadFlag if the flag is the last token
   */
  public String value() {
    String f = flag();
    if (next >= args.length) {
      throw new BadFlag(f + " needs a value");
    }
    return args[next++];
  }

  /**
   * The error for a flag the runner does not know.
   *
   * @return a {@link BadFlag} to throw, naming the flag
   */
  public BadFlag unknown() {
    return new BadFlag("unknown flag " + flag());
  }

  /**
   * An error about the current flag's value.
   *
   * @param problem what is wrong, continuing the sentence that starts with the flag, e.g. {@code "is not a size
   *     such as 1g: lots"}
   * @return a {@link BadFlag} to throw, {@code "<flag> <problem>"}
   */
  public BadFlag bad(String problem) {
    return new BadFlag(flag() + " " + problem);
  }

  /**
   * The value as a whole number of at least {@code min}; {@code _} may group digits (1_000_000).
   *
   * @param min the smallest value allowed
   * @return the number
   * @throws BadFlag if the value is missing, not a whole number, or below {@code min}
   */
  public long longAtLeast(long min) {
    String v = value();
    long n;
    try {
      n = Long.parseLong(v.trim().replace("_", ""));
    } catch (NumberFormatException e) {
      throw bad("takes a whole number, got '" + v + "'");
    }
    if (n < min) {
      throw bad("must be at least " + min + ", got " + v);
    }
    return n;
  }

  /**
   * As {@link #longAtLeast(long)}, and at most {@link Integer#MAX_VALUE}.
   *
   * @param min the smallest value allowed
   * @return the number
   * @throws BadFlag if the value is missing, not a whole number, below {@code min} or above an int's range
   */
  public int intAtLeast(int min) {
    long n = longAtLeast(min);
    if (n > Integer.MAX_VALUE) {
      throw bad("must be at most " + Integer.MAX_VALUE + ", got " + n);
    }
    return (int) n;
  }

  /**
   * A whole number of at least 1.
   *
   * @return the number
   * @throws BadFlag as {@link #longAtLeast(long)}
   */
  public long positiveLong() {
    return longAtLeast(1);
  }

  /**
   * A whole number from 1 to {@link Integer#MAX_VALUE}.
   *
   * @return the number
   * @throws BadFlag as {@link #intAtLeast(int)}
   */
  public int positiveInt() {
    return intAtLeast(1);
  }

  /**
   * The value as a path (not checked for existence: the runner knows whether it must exist).
   *
   * @return the path
   * @throws BadFlag if the value is missing
   */
  public Path path() {
    return Path.of(value());
  }

  /**
   * The value as a comma-separated list: each item trimmed, blank items skipped, repeats dropped, order kept.
   *
   * @return at least one item
   * @throws BadFlag if the value is missing or names nothing
   */
  public List<String> list() {
    List<String> items = new ArrayList<>();
    for (String part : value().split(",")) {
      String item = part.trim();
      if (!item.isEmpty() && !items.contains(item)) {
        items.add(item);
      }
    }
    if (items.isEmpty()) {
      throw bad("names nothing");
    }
    return items;
  }

  /**
   * A {@link #list()} whose items must each be one of {@code known}.
   *
   * @param known the names allowed, as the usage lists them
   * @return at least one known name
   * @throws BadFlag if the value is missing, names nothing, or names something unknown (the message lists the
   *     known names, or their first and last when there are many)
   */
  public List<String> names(List<String> known) {
    return allKnown(list(), known);
  }

  /**
   * Checks that each item of a list the current flag gave is one of {@code known}: for a flag whose value is
   * either a word of its own (such as {@code all}) or a list of names.
   *
   * @param items what the flag named, e.g. its {@link #list()}
   * @param known the names allowed, as the usage lists them
   * @return {@code items}
   * @throws BadFlag if an item is unknown (the message lists the known names, or their first and last when there
   *     are many)
   */
  public List<String> allKnown(List<String> items, List<String> known) {
    for (String item : items) {
      known(item, known);
    }
    return items;
  }

  /**
   * The value, which must be one of {@code known}.
   *
   * @param known the values allowed, as the usage lists them
   * @return the value
   * @throws BadFlag if the value is missing or not one of {@code known} (the message lists them)
   */
  public String oneOf(List<String> known) {
    return known(value(), known);
  }

  private String known(String item, List<String> known) {
    if (!known.contains(item)) {
      String choices = known.size() < 10 ? String.join(", ", known)
          : known.get(0) + " .. " + known.get(known.size() - 1);
      throw new BadFlag(flag() + ": unknown '" + item + "' (known: " + choices + ")");
    }
    return item;
  }

  /**
   * A {@link #list()} of byte sizes: a whole number with an optional binary unit {@code k}, {@code m} or
   * {@code g} (4k = 4096), each from 1 byte to {@code maxBytes}.
   *
   * @param maxBytes the largest size allowed
   * @return at least one size, in bytes, repeats dropped
   * @throws BadFlag if the value is missing, names nothing, or has an item that is not a size or out of range
   */
  public List<Integer> sizes(int maxBytes) {
    List<Integer> sizes = new ArrayList<>();
    for (String item : list()) {
      long bytes = bytes(item);
      if (bytes < 1) {
        throw bad("takes sizes such as 4k,64k,1m, got '" + item + "'");
      }
      if (bytes > maxBytes) {
        throw bad("size " + item + " is outside 1 byte .. " + sizeText(maxBytes));
      }
      if (!sizes.contains((int) bytes)) {
        sizes.add((int) bytes);
      }
    }
    return sizes;
  }

  /**
   * The value as one byte size: a whole number with an optional binary unit {@code k}, {@code m} or {@code g}
   * (2g = 2147483648), from 1 byte to {@code maxBytes}.
   *
   * @param maxBytes the largest size allowed
   * @return the size in bytes
   * @throws BadFlag if the value is missing, not a size, or out of range
   */
  public long size(long maxBytes) {
    String v = value();
    long bytes = bytes(v.trim());
    if (bytes < 1) {
      throw bad("takes a size such as 128m or 2g, got '" + v + "'");
    }
    if (bytes > maxBytes) {
      throw bad("size " + v + " is outside 1 byte .. " + sizeText(maxBytes));
    }
    return bytes;
  }

  /** Bytes of a size such as 4k, or -1 if it is not one (or does not fit a long). */
  private static long bytes(String size) {
    String s = size.toLowerCase(Locale.ROOT);
    int shift = s.endsWith("k") ? 10 : s.endsWith("m") ? 20 : s.endsWith("g") ? 30 : 0;
    String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
    try {
      long n = Long.parseLong(digits);
      return n < 0 || n > Long.MAX_VALUE >> shift ? -1 : n << shift;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * A byte count as the shortest size that {@link #sizes(int)} reads back to it: 16m, 4k, 100.
   *
   * @param bytes a count of bytes
   * @return its text
   */
  public static String sizeText(long bytes) {
    if (bytes != 0 && bytes % (1L << 30) == 0) {
      return bytes / (1L << 30) + "g";
    }
    if (bytes != 0 && bytes % (1L << 20) == 0) {
      return bytes / (1L << 20) + "m";
    }
    if (bytes != 0 && bytes % (1L << 10) == 0) {
      return bytes / (1L << 10) + "k";
    }
    return Long.toString(bytes);
  }
}
