package io.vrdma.transport.config;

import java.util.Objects;
import java.util.function.Function;

/**
 * One documented configuration key: its name, its default and what it does. Every key of the transport
 * is a constant of {@link TransportConf}; the configuration reference in {@code docs/configuration.md} is
 * generated from those constants, and a test fails when the two drift apart.
 *
 * @param <T> the type of the parsed value
 */
public final class ConfigKey<T> {
  private final String name;
  private final String defaultValue;
  private final String doc;
  private final Function<String, T> parser;

  private ConfigKey(String name, String defaultValue, String doc, Function<String, T> parser) {
    this.name = Objects.requireNonNull(name);
    this.defaultValue = Objects.requireNonNull(defaultValue);
    this.doc = Objects.requireNonNull(doc);
    this.parser = Objects.requireNonNull(parser);
  }

  /** A key whose value is a string. */
  public static ConfigKey<String> string(String name, String defaultValue, String doc) {
    return new ConfigKey<>(name, defaultValue, doc, v -> v);
  }

  /** A key whose value is a boolean ({@code true} or {@code false}, case-insensitive). */
  public static ConfigKey<Boolean> bool(String name, boolean defaultValue, String doc) {
    return new ConfigKey<>(name, Boolean.toString(defaultValue), doc, ConfigKey::parseBoolean);
  }

  /** A key whose value is a whole number, accepting the suffixes k, m, g (binary multiples). */
  public static ConfigKey<Long> size(String name, String defaultValue, String doc) {
    return new ConfigKey<>(name, defaultValue, doc, ConfigKey::parseSize);
  }

  /** A key whose value is a duration in milliseconds, accepting the suffixes ms, s, m. */
  public static ConfigKey<Long> millis(String name, String defaultValue, String doc) {
    return new ConfigKey<>(name, defaultValue, doc, ConfigKey::parseMillis);
  }

  public String name() {
    return name;
  }

  public String defaultValue() {
    return defaultValue;
  }

  public String doc() {
    return doc;
  }

  /** Parses a raw value, naming this key in the error when the value is malformed. */
  public T parse(String raw) {
    try {
      return parser.apply(raw.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "invalid value '" + raw + "' for " + name + ": " + e.getMessage(), e);
    }
  }

  private static Boolean parseBoolean(String v) {
    if (v.equalsIgnoreCase("true")) {
      return Boolean.TRUE;
    }
    if (v.equalsIgnoreCase("false")) {
      return Boolean.FALSE;
    }
    throw new IllegalArgumentException("expected true or false");
  }

  static long parseSize(String v) {
    String s = v.toLowerCase(java.util.Locale.ROOT);
    long multiplier = 1;
    if (s.endsWith("b")) {
      s = s.substring(0, s.length() - 1);
    }
    if (s.endsWith("k")) {
      multiplier = 1L << 10;
    } else if (s.endsWith("m")) {
      multiplier = 1L << 20;
    } else if (s.endsWith("g")) {
      multiplier = 1L << 30;
    }
    if (multiplier != 1) {
      s = s.substring(0, s.length() - 1);
    }
    long n;
    try {
      n = Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("expected a size such as 4096, 64k, 16m or 1g");
    }
    if (n < 0) {
      throw new IllegalArgumentException("must not be negative");
    }
    return Math.multiplyExact(n, multiplier);
  }

  static long parseMillis(String v) {
    String s = v.toLowerCase(java.util.Locale.ROOT);
    long multiplier = 1;
    if (s.endsWith("ms")) {
      s = s.substring(0, s.length() - 2);
    } else if (s.endsWith("s")) {
      s = s.substring(0, s.length() - 1);
      multiplier = 1000;
    } else if (s.endsWith("m")) {
      s = s.substring(0, s.length() - 1);
      multiplier = 60_000;
    }
    long n;
    try {
      n = Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("expected a duration such as 500ms, 30s or 2m");
    }
    if (n < 0) {
      throw new IllegalArgumentException("must not be negative");
    }
    return Math.multiplyExact(n, multiplier);
  }

  @Override
  public String toString() {
    return name;
  }
}
