package io.vrdma.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.Patterns;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Large tcp reads land in the caller's buffer straight from the socket, not through a second copy. */
class TcpDirectPlacementTest {
  @Test
  void largeReadBodiesAreWrittenByTheSocketIntoTheDestination() throws Exception {
    TransportConf conf = TransportConf.fromMap(Map.of(TransportConf.HOST.name(), "127.0.0.1",
        TransportConf.TIERS.name(), "tcp"));
    int size = 8 << 20;
    try (TransportNode server = TransportNode.start(conf); TransportNode client = TransportNode.start(conf);
        Registration r = server.register(RegionSource.buffer(Patterns.buffer(11, size)));
        Connection c = client.connect(server.advertisement());
        PooledBuffer buf = client.bufferPool().acquire(size)) {
      for (int i = 0; i < 4; i++) {
        c.read(r.descriptor(Tier.TCP).orElseThrow(), 0, size, buf, 0).get(30, TimeUnit.SECONDS);
        assertNull(Patterns.mismatch(11, 0, buf.nioBuffer(), 0, size));
      }
      long[] placedAndCopied = ((NodeConnection) c).control().placedAndCopiedBytes();
      assertEquals(4L * size, placedAndCopied[0] + placedAndCopied[1]);
      assertTrue(placedAndCopied[0] > 0.9 * 4 * size, "placed " + placedAndCopied[0] + ", copied " + placedAndCopied[1]);
    }
  }
}
