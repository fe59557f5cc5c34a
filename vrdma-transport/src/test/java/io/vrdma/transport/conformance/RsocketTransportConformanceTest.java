package io.vrdma.transport.conformance;

import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.rsocket.RsocketProbe;
import io.vrdma.transport.tier.TierAvailability;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/**
 * The conformance suite on the rsocket tier: the tcp tier's code in a JVM started under librdmacm's preload,
 * its sockets rsockets over the RDMA device (Soft-RoCE in the VM bench, benchmarks/vm/verbs-bench.sh, which
 * also checks the device's counters). Nodes listen on {@code -Dvrdma.test.host} (the guest's address on the
 * Soft-RoCE NIC), 127.0.0.1 by default. Where the preload or a device is missing (CI) the suite does not run
 * and says why: the rsocket probe's own line.
 */
class RsocketTransportConformanceTest extends TransportConformanceSuite {
  @BeforeAll
  static void rsocketTierIsAvailable() {
    TierAvailability rsocket = RsocketProbe.probe(RsocketProbe.Environment.current(false));
    if (!rsocket.available()) {
      String why = "rsocket conformance suite not run: " + rsocket.detail();
      System.err.println(why);
      Assumptions.abort(why);
    }
  }

  @Override
  protected Tier tier() {
    return Tier.RSOCKET;
  }

  @Override
  protected Map<String, String> tierSettings(Path work) {
    return Map.of(TransportConf.HOST.name(), System.getProperty("vrdma.test.host", "127.0.0.1"));
  }
}
