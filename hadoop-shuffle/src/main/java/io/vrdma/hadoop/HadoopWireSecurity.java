package io.vrdma.hadoop;

import io.vrdma.transport.config.TransportConf;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.mapreduce.MRConfig;

/**
 * Hadoop's wish for an encrypted shuffle, applied to our layers: with {@code mapreduce.shuffle.ssl.enabled}
 * (Hadoop's HTTPS shuffle), {@link TransportConf#ENCRYPTION_REQUIRED} is set whatever the plugin's own keys say,
 * on the NodeManager's service (from the NodeManager's configuration, as Hadoop's {@code ShuffleHandler} reads it)
 * and in each reducer (from the job's). The key material is the job token's shuffle secret, the same secret our
 * proof uses, so no keystore is needed for our tiers; Hadoop's HTTPS fallback keeps its own
 * {@code ssl-server.xml}/{@code ssl-client.xml}.
 */
final class HadoopWireSecurity {
  private HadoopWireSecurity() {}

  /** Whether Hadoop's configuration asks for an encrypted shuffle. */
  static boolean encryptionRequired(Configuration conf) {
    return conf.getBoolean(MRConfig.SHUFFLE_SSL_ENABLED_KEY, MRConfig.SHUFFLE_SSL_ENABLED_DEFAULT);
  }

  /** Every {@code vrdma.*} key of {@code conf}, with encryption required when Hadoop asks for it. */
  static Map<String, String> layerSettings(Configuration conf) {
    Map<String, String> settings = VrdmaShuffleConf.vrdmaKeys(conf);
    if (encryptionRequired(conf)) {
      settings.put(TransportConf.ENCRYPTION_REQUIRED.name(), "true");
    }
    return settings;
  }
}
