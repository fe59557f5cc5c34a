package io.vrdma.transport.conformance;

import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import java.nio.file.Path;
import java.util.Map;

/** The conformance suite on the tcp tier with Netty's NIO transport, used where native epoll does not load. */
class TcpNioTransportConformanceTest extends TransportConformanceSuite {
  @Override
  protected Tier tier() {
    return Tier.TCP;
  }

  @Override
  protected Map<String, String> tierSettings(Path work) {
    return Map.of(TransportConf.TCP_NATIVE_EPOLL.name(), "false");
  }
}
