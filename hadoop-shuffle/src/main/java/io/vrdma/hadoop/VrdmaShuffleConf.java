package io.vrdma.hadoop;

import io.vrdma.transport.config.ConfigKey;
import io.vrdma.transport.config.ConfigSection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * The Hadoop integration's own keys, read from {@code yarn-site.xml} by the NodeManager's auxiliary service
 * and from the job configuration ({@code mapred-site.xml}) by the reduce-side plugin.
 */
public final class VrdmaShuffleConf {
  /** Every key of the Hadoop integration starts with this prefix. */
  public static final String PREFIX = "vrdma.hadoop.shuffle.";

  public static final ConfigKey<Long> PORT = ConfigKey.size(PREFIX + "port", "13570",
      "Port of the block server that the NodeManager's shuffle service (VrdmaShuffleHandler) runs, the same"
          + " on every host: reducers find it at the map's host and this port. Set it in yarn-site.xml and"
          + " mapred-site.xml alike.");
  public static final ConfigKey<Long> PUBLISH_WAIT = ConfigKey.millis(PREFIX + "publishWait", "10s",
      "Reducer: how long a map output that the service has not published yet is asked for again before"
          + " that host is fetched with Hadoop's HTTP shuffle instead.");

  public static final ConfigKey<Boolean> HOST_LOCAL = ConfigKey.bool(PREFIX + "hostLocal", true,
      "Reducer: read the map outputs that lie on the reducer's own NodeManager straight from the job's local dirs"
          + " (they are the job's own files), with no transfer at all, as Spark's readHostLocalDisk does; other"
          + " hosts' map outputs go over the tiers. Off: every map output goes over the tiers.");

  private static final List<ConfigKey<?>> ALL_KEYS = ConfigSection.keysDeclaredIn(VrdmaShuffleConf.class);

  private final Map<String, String> raw;

  private VrdmaShuffleConf(Map<String, String> raw) {
    this.raw = raw;
    for (ConfigKey<?> key : ALL_KEYS) {
      get(key);
    }
    long port = get(PORT);
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException(PORT.name() + " must be a port number, not " + port);
    }
  }

  /** Reads the keys under {@link #PREFIX}; others are ignored. */
  public static VrdmaShuffleConf from(Configuration conf) {
    return new VrdmaShuffleConf(ConfigSection.ownKeys(vrdmaKeys(conf), PREFIX, ALL_KEYS));
  }

  /** Every {@code vrdma.*} key of a Hadoop configuration, as the plain map our other layers read. */
  public static Map<String, String> vrdmaKeys(Configuration conf) {
    Map<String, String> out = new HashMap<>();
    for (Map.Entry<String, String> e : conf.getPropsWithPrefix("vrdma.").entrySet()) {
      out.put("vrdma." + e.getKey(), e.getValue());
    }
    return out;
  }

  /** The typed value of a key: the configured one, or its default. */
  public <T> T get(ConfigKey<T> key) {
    return key.parse(raw.getOrDefault(key.name(), key.defaultValue()));
  }

  public int port() {
    return (int) (long) get(PORT);
  }

  /** The Hadoop integration's section of the configuration reference. */
  public static final class Section implements ConfigSection {
    @Override
    public int order() {
      return 40;
    }

    @Override
    public String title() {
      return "Hadoop MapReduce shuffle (`vrdma.hadoop.shuffle.*`)";
    }

    @Override
    public String intro() {
      return "Read by the NodeManager auxiliary service (`yarn-site.xml`) and the reduce-side"
          + " `ShuffleConsumerPlugin` (job configuration).";
    }

    @Override
    public List<ConfigKey<?>> keys() {
      return ALL_KEYS;
    }
  }
}
