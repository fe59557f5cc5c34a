package io.vrdma.transport.conformance;

import io.vrdma.transport.Tier;
import java.nio.file.Path;
import java.util.Map;

/** The conformance suite on the tcp tier (host network, Netty). */
class TcpTransportConformanceTest extends TransportConformanceSuite {
  @Override
  protected Tier tier() {
    return Tier.TCP;
  }

  @Override
  protected Map<String, String> tierSettings(Path work) {
    return Map.of();
  }
}
