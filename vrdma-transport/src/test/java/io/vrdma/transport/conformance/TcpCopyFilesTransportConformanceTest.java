package io.vrdma.transport.conformance;

import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import java.nio.file.Path;
import java.util.Map;

/**
 * The conformance suite on the tcp tier with file segments copied through buffers instead of sendfile: the
 * path every read takes under librdmacm's preload (the rsocket tier), run here on the host network.
 */
class TcpCopyFilesTransportConformanceTest extends TransportConformanceSuite {
  @Override
  protected Tier tier() {
    return Tier.TCP;
  }

  @Override
  protected Map<String, String> tierSettings(Path work) {
    return Map.of(TransportConf.TCP_COPY_FILES.name(), "true", TransportConf.TCP_NATIVE_EPOLL.name(), "false");
  }
}
