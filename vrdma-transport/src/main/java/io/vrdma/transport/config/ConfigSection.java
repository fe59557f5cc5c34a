package io.vrdma.transport.config;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The keys of one layer, as they appear in the configuration reference. Each module that has keys
 * registers a section through {@code META-INF/services/io.vrdma.transport.config.ConfigSection};
 * {@link ConfigReference} renders every section on the class path into {@code docs/configuration.md}.
 */
public interface ConfigSection {
  /** Position in the reference: lower comes first. */
  int order();

  /** The section's heading. */
  String title();

  /** A paragraph on where these keys are read. */
  String intro();

  /** The section's keys, in the order they are documented. */
  List<ConfigKey<?>> keys();

  /** Every {@code static final ConfigKey} field of a class, in declaration order. */
  static List<ConfigKey<?>> keysDeclaredIn(Class<?> holder) {
    List<ConfigKey<?>> keys = new ArrayList<>();
    for (Field f : holder.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == ConfigKey.class) {
        try {
          keys.add((ConfigKey<?>) f.get(null));
        } catch (IllegalAccessException e) {
          throw new AssertionError(e);
        }
      }
    }
    return Collections.unmodifiableList(keys);
  }

  /**
   * Keeps the keys under {@code prefix} from {@code settings}, refusing any that is not one of
   * {@code known}, so that a misspelt key fails loudly instead of leaving a default in place.
   */
  static java.util.Map<String, String> ownKeys(java.util.Map<String, String> settings, String prefix,
      List<ConfigKey<?>> known) {
    java.util.Map<String, String> own = new java.util.LinkedHashMap<>();
    for (java.util.Map.Entry<String, String> e : settings.entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        continue;
      }
      if (known.stream().noneMatch(k -> k.name().equals(e.getKey()))) {
        throw new IllegalArgumentException("unknown configuration key " + e.getKey()
            + " (see docs/configuration.md for the keys under " + prefix + ")");
      }
      own.put(e.getKey(), e.getValue());
    }
    return Collections.unmodifiableMap(own);
  }
}
