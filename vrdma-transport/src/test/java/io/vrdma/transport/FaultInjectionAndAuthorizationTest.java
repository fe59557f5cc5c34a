package io.vrdma.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.Patterns;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The test-only fault injector disturbs exactly the reads it is told to; the read authorizer gates tcp reads. */
@Timeout(60)
class FaultInjectionAndAuthorizationTest {
  private static TransportConf conf(Map<String, String> extra) {
    Map<String, String> s = new HashMap<>(Map.of(TransportConf.HOST.name(), "127.0.0.1", TransportConf.TIERS.name(), "tcp"));
    s.putAll(extra);
    return TransportConf.fromMap(s);
  }

  @Test
  void injectorFailsCorruptsAndDelaysTheConfiguredReads() throws Exception {
    TransportConf faulty = conf(Map.of(TransportConf.FAULT_TIER.name(), "tcp",
        TransportConf.FAULT_FAIL_EVERY.name(), "3", TransportConf.FAULT_CORRUPT_EVERY.name(), "2",
        TransportConf.FAULT_DELAY.name(), "50ms"));
    try (TransportNode server = TransportNode.start(conf(Map.of())); TransportNode client = TransportNode.start(faulty);
        Registration r = server.register(RegionSource.buffer(Patterns.buffer(5, 4096)));
        Connection c = client.connect(server.advertisement());
        PooledBuffer buf = client.bufferPool().acquire(4096)) {
      RegionDescriptor d = r.descriptor(Tier.TCP).orElseThrow();
      long start = System.nanoTime();
      c.read(d, 0, 4096, buf, 0).get(10, TimeUnit.SECONDS);
      assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) >= 50, "read 1 was delayed");
      assertNull(Patterns.mismatch(5, 0, buf.nioBuffer(), 0, 4096), "read 1 intact");
      c.read(d, 0, 4096, buf, 0).get(10, TimeUnit.SECONDS);
      assertNotNull(Patterns.mismatch(5, 0, buf.nioBuffer(), 0, 4096), "read 2 (success 2) corrupted");
      ExecutionException e = assertThrows(ExecutionException.class, () -> c.read(d, 0, 4096, buf, 0).get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("injected"), e.getCause().getMessage());
    }
  }

  @Test
  void refusedReadClosesTheConnectionAndAllowedReadsPass() throws Exception {
    try (TransportNode server = TransportNode.start(conf(Map.of())); TransportNode client = TransportNode.start(conf(Map.of()));
        Registration allowed = server.register(RegionSource.buffer(Patterns.buffer(1, 100)));
        Registration secret = server.register(RegionSource.buffer(Patterns.buffer(2, 100)));
        PooledBuffer buf = client.bufferPool().acquire(100)) {
      long allowedKey = allowed.descriptor(Tier.TCP).orElseThrow().key();
      server.setReadAuthorizer((peer, d) -> d.key() == allowedKey);
      try (Connection c = client.connect(server.advertisement())) {
        c.read(allowed.descriptor(Tier.TCP).orElseThrow(), 0, 100, buf, 0).get(10, TimeUnit.SECONDS);
        ExecutionException e = assertThrows(ExecutionException.class,
            () -> c.read(secret.descriptor(Tier.TCP).orElseThrow(), 0, 100, buf, 0).get(10, TimeUnit.SECONDS));
        assertInstanceOf(PeerUnavailableException.class, e.getCause());
        assertFalse(c.isActive());
      }
      assertEquals(0, client.bufferPool().outstandingBuffers() - 1);
    }
  }
}
