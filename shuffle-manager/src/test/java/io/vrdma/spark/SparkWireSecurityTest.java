package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.config.TransportConf;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which Spark settings make the plugin require encryption, on each Spark line. */
class SparkWireSecurityTest {
  @Test
  void nothingSetRequiresNothing() {
    SparkWireSecurity s = SparkWireSecurity.fromSparkSettings(Map.of("spark.authenticate", "true"), true);
    assertFalse(s.encryptionRequired());
    assertFalse(s.apply(Map.of()).containsKey(TransportConf.ENCRYPTION_REQUIRED.name()));
  }

  @Test
  void networkCryptoRequiresEncryptionOnBothLines() {
    for (boolean spark4 : new boolean[] {false, true}) {
      SparkWireSecurity s = SparkWireSecurity.fromSparkSettings(Map.of("spark.authenticate", "true",
          "spark.network.crypto.enabled", "true"), spark4);
      assertEquals(List.of("spark.network.crypto.enabled"), s.reasons());
    }
  }

  @Test
  void saslEncryptionRequiresEncryption() {
    assertTrue(SparkWireSecurity.fromSparkSettings(Map.of("spark.authenticate.enableSaslEncryption", "true"), false)
        .encryptionRequired());
  }

  @Test
  void sslRpcCountsOnSpark4OnlyAndDefaultsToSparkSslEnabled() {
    assertTrue(SparkWireSecurity.fromSparkSettings(Map.of("spark.ssl.rpc.enabled", "true"), true).encryptionRequired());
    assertTrue(SparkWireSecurity.fromSparkSettings(Map.of("spark.ssl.enabled", "true"), true).encryptionRequired());
    assertFalse(SparkWireSecurity.fromSparkSettings(Map.of("spark.ssl.enabled", "true",
        "spark.ssl.rpc.enabled", "false"), true).encryptionRequired());
    // Spark 3.5's spark.ssl.* secures the web UI only; its RPC has no TLS
    assertFalse(SparkWireSecurity.fromSparkSettings(Map.of("spark.ssl.enabled", "true"), false).encryptionRequired());
  }

  @Test
  void theEngineWinsOverThePluginsOwnFalse() {
    SparkWireSecurity s = SparkWireSecurity.fromSparkSettings(Map.of("spark.network.crypto.enabled", "true"), false);
    assertEquals("true", s.apply(Map.of(TransportConf.ENCRYPTION_REQUIRED.name(), "false"))
        .get(TransportConf.ENCRYPTION_REQUIRED.name()));
  }

  @Test
  void securityManagerAnswersAreCountedToo() {
    SparkWireSecurity s = SparkWireSecurity.fromSparkSettings(Map.of(), true).withSecurityManager(false, true);
    assertEquals(List.of("SecurityManager.isSslRpcEnabled"), s.reasons());
  }
}
