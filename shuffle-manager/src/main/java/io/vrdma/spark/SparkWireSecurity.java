package io.vrdma.spark;

import io.vrdma.transport.config.TransportConf;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which of Spark's own settings ask for encrypted shuffle traffic, and the transport settings that follow: when
 * any does, {@link TransportConf#ENCRYPTION_REQUIRED} is set, whatever the plugin's own keys say (the plugin is
 * never weaker than stock Spark). Free of Spark types, so that the mapping is tested without a SparkContext.
 *
 * <ul>
 *   <li>{@code spark.network.crypto.enabled} (AES over Spark's RPC and block transfer, keyed from the app secret),
 *   <li>{@code spark.authenticate.enableSaslEncryption} (legacy SASL encryption of block transfer),
 *   <li>Spark 4's {@code spark.ssl.rpc.enabled} (TLS on RPC and block transfer; it defaults to
 *       {@code spark.ssl.enabled} on Spark 4, so {@link #fromSparkSettings} also counts that one when the line is 4).
 * </ul>
 * The Spark runtime also asks Spark's {@code SecurityManager} ({@code isEncryptionEnabled}, and on Spark 4
 * {@code isSslRpcEnabled}) and ORs the answers, so a setting Spark derives some other way is not missed.
 */
public final class SparkWireSecurity {
  private final List<String> reasons;

  private SparkWireSecurity(List<String> reasons) {
    this.reasons = List.copyOf(reasons);
  }

  /** What Spark's settings ask for. */
  public static SparkWireSecurity fromSparkSettings(Map<String, String> spark, boolean spark4) {
    List<String> reasons = new ArrayList<>();
    for (String key : List.of("spark.network.crypto.enabled", "spark.authenticate.enableSaslEncryption")) {
      if (Boolean.parseBoolean(spark.getOrDefault(key, "false").trim())) {
        reasons.add(key);
      }
    }
    if (spark4) {
      String rpc = spark.get("spark.ssl.rpc.enabled");
      if (rpc != null ? Boolean.parseBoolean(rpc.trim()) : Boolean.parseBoolean(spark.getOrDefault("spark.ssl.enabled",
          "false").trim())) {
        reasons.add(rpc != null ? "spark.ssl.rpc.enabled" : "spark.ssl.enabled (spark.ssl.rpc.enabled's default)");
      }
    }
    return new SparkWireSecurity(reasons);
  }

  /** Adds what Spark's SecurityManager reports, in case Spark derived it otherwise. */
  public SparkWireSecurity withSecurityManager(boolean encryptionEnabled, boolean sslRpcEnabled) {
    List<String> more = new ArrayList<>(reasons);
    if (encryptionEnabled && reasons.stream().noneMatch(r -> r.startsWith("spark.network") || r.contains("Sasl"))) {
      more.add("SecurityManager.isEncryptionEnabled");
    }
    if (sslRpcEnabled && reasons.stream().noneMatch(r -> r.startsWith("spark.ssl"))) {
      more.add("SecurityManager.isSslRpcEnabled");
    }
    return new SparkWireSecurity(more);
  }

  /** Whether Spark asked for encrypted shuffle traffic. */
  public boolean encryptionRequired() {
    return !reasons.isEmpty();
  }

  /** The Spark settings that asked for it, for the start-up line. */
  public List<String> reasons() {
    return reasons;
  }

  /** The plugin's transport and block settings with encryption required when Spark asks for it. */
  public Map<String, String> apply(Map<String, String> layerSettings) {
    Map<String, String> out = new HashMap<>(layerSettings);
    if (encryptionRequired()) {
      out.put(TransportConf.ENCRYPTION_REQUIRED.name(), "true");
    }
    return out;
  }
}
