package io.vrdma.transport;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.TransportException.RegionNotFoundException;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.tcp.Frames;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The control-channel half of the verbs tier that runs without a device: a VERBS_CHECK (asked before
 * the first one-sided read with a descriptor) is answered "not found" by a node without the verbs tier,
 * and a malformed one closes that connection like any malformed frame.
 */
@Timeout(60)
class VerbsCheckFrameTest {
  private static TransportNode start() throws TransportException {
    return TransportNode.start(TransportConf.fromMap(Map.of(TransportConf.HOST.name(), "127.0.0.1",
        TransportConf.TIERS.name(), "tcp")));
  }

  @Test
  void verbsCheckOnANodeWithoutTheVerbsTierIsAnsweredNotFound() throws Exception {
    try (TransportNode server = start(); TransportNode client = start();
        Connection c = client.connect(server.advertisement())) {
      RegionDescriptor d = new RegionDescriptor(Tier.VERBS, server.nodeId(), 0x7f0000001000L, 0x1234, 4096);
      ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
          () -> ((NodeConnection) c).control().request(Frames.VERBS_CHECK, ByteBuffer.wrap(d.toBytes()))
              .get(10, TimeUnit.SECONDS));
      assertInstanceOf(RegionNotFoundException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("has no verbs tier"), e.getCause().getMessage());
      assertTrue(c.isActive(), "an answered check leaves the connection up");
    }
  }

  @Test
  void malformedVerbsCheckClosesThatConnection() throws Exception {
    try (TransportNode server = start(); TransportNode client = start();
        Connection c = client.connect(server.advertisement())) {
      ((NodeConnection) c).control().request(Frames.VERBS_CHECK, ByteBuffer.wrap(new byte[5]));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (c.isActive() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertFalse(c.isActive(), "a VERBS_CHECK of the wrong size closes the connection");
    }
  }
}
