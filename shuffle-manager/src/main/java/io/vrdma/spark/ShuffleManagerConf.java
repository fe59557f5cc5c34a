package io.vrdma.spark;

import io.vrdma.block.BlockConf;
import io.vrdma.transport.config.ConfigKey;
import io.vrdma.transport.config.ConfigSection;
import io.vrdma.transport.config.TransportConf;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Spark plugin's configuration. Every key lives under {@code spark.shuffle.vrdma.}: the plugin's own keys
 * below, and every transport and block key as {@code spark.shuffle.<key>} ({@code spark.shuffle.vrdma.transport.tiers}
 * sets {@code vrdma.transport.tiers}). Free of Spark types so that the reference generator can load it.
 */
public final class ShuffleManagerConf {
  /** Prefix of every Spark key of the plugin. */
  public static final String PREFIX = "spark.shuffle.vrdma.";

  public static final ConfigKey<Boolean> ENABLED = ConfigKey.bool(PREFIX + "enabled", true,
      "Publish map outputs and read remote shuffle blocks over vRDMA. false: the manager is Spark's sort"
          + " shuffle, every block goes through Spark's own transfer service.");
  public static final ConfigKey<Boolean> REPORT_COUNTERS = ConfigKey.bool(PREFIX + "reportCounters", true,
      "Every reportInterval, when the shuffles it serves change, and at shutdown, the executor sends its counters"
          + " (bytes and blocks per tier, fallbacks, retries, failures, staging window) to the driver, one-way; the"
          + " driver sums them in the vrdmaShuffleTotals metrics source. false: the driver's totals are only as"
          + " fresh as its last explicit query of the executors.");
  public static final ConfigKey<Long> REPORT_INTERVAL = ConfigKey.millis(PREFIX + "reportInterval", "10s",
      "How often an executor sends its counters to the driver (reportCounters).");

  private static final List<ConfigKey<?>> ALL_KEYS = ConfigSection.keysDeclaredIn(ShuffleManagerConf.class);
  private static final String LAYER_PREFIX = "spark.shuffle.";

  private final Map<String, String> own;
  private final Map<String, String> layers;

  private ShuffleManagerConf(Map<String, String> own, Map<String, String> layers) {
    this.own = own;
    this.layers = layers;
    for (ConfigKey<?> key : ALL_KEYS) {
      get(key);
    }
  }

  /**
   * Reads the plugin's keys from Spark's settings (all of them; keys outside {@link #PREFIX} are ignored).
   *
   * @throws IllegalArgumentException for a key under {@link #PREFIX} that is neither the plugin's nor a
   *     transport or block key, or a malformed value
   */
  public static ShuffleManagerConf fromMap(Map<String, String> sparkSettings) {
    Map<String, String> own = new HashMap<>();
    Map<String, String> layers = new HashMap<>();
    for (Map.Entry<String, String> e : sparkSettings.entrySet()) {
      String key = e.getKey();
      if (!key.startsWith(PREFIX)) {
        continue;
      }
      if (ALL_KEYS.stream().anyMatch(k -> k.name().equals(key))) {
        own.put(key, e.getValue());
      } else {
        String layerKey = key.substring(LAYER_PREFIX.length());
        if (!layerKey.startsWith(TransportConf.PREFIX) && !layerKey.startsWith(BlockConf.PREFIX)) {
          throw new IllegalArgumentException("unknown key " + key + ": the plugin's keys are " + ALL_KEYS.stream()
              .map(ConfigKey::name).toList() + " and spark.shuffle.vrdma.transport.* / spark.shuffle.vrdma.block.*");
        }
        layers.put(layerKey, e.getValue());
      }
    }
    TransportConf.fromMap(layers);
    BlockConf.fromMap(layers);
    return new ShuffleManagerConf(own, layers);
  }

  /** The typed value of one of the plugin's keys. */
  public <T> T get(ConfigKey<T> key) {
    return key.parse(own.getOrDefault(key.name(), key.defaultValue()));
  }

  /** The transport's and block layer's settings, by their {@code vrdma.*} names. */
  public Map<String, String> layerSettings() {
    return Map.copyOf(layers);
  }

  /** The plugin's section of the configuration reference. */
  public static final class Section implements ConfigSection {
    @Override
    public int order() {
      return 30;
    }

    @Override
    public String title() {
      return "Spark shuffle manager (`spark.shuffle.vrdma.*`)";
    }

    @Override
    public String intro() {
      return "Read from Spark's configuration by `VrdmaShuffleManager`. Every transport and block key above is"
          + " set in Spark as `spark.shuffle.` + the key (for example `spark.shuffle.vrdma.transport.tiers=tcp`);"
          + " any other key under `spark.shuffle.vrdma.` is refused at start-up. The same keys in both plugin jars:"
          + " `vrdma-shuffle-manager-plugin.jar` for Spark 3.5 (on `spark.driver.extraClassPath` and"
          + " `spark.executor.extraClassPath`), `vrdma-shuffle-manager-spark4-plugin.jar` for Spark 4.1 and 4.2"
          + " (`--jars` is enough); see the README.";
    }

    @Override
    public List<ConfigKey<?>> keys() {
      return ALL_KEYS;
    }
  }
}
