package io.vrdma.bench.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockSegment;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.testing.CapturingRelay;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.network.TransportContext;
import org.apache.spark.network.crypto.AuthServerBootstrap;
import org.apache.spark.network.server.TransportServer;
import org.apache.spark.network.util.TransportConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark's two encrypted paths compare like with like: a wiretap between client and server finds none of
 * the blocks' bytes for Spark's {@code spark.network.crypto} path nor for ours with encryption required, while it
 * finds them on Spark's plain path (so the check can fail).
 */
@Timeout(60)
class EncryptedPathsOnTheWireTest {
  private static final BlockLayout LAYOUT = BlockLayout.of(64 << 10, 8);

  @TempDir
  Path dir;

  private byte[] data() throws Exception {
    LAYOUT.write(dir);
    return Files.readAllBytes(LAYOUT.file(dir, 0));
  }

  private byte[] sparkWire(boolean crypto) throws Exception {
    TransportConf conf = FetchPeer.Peers.sparkConf(crypto);
    try (TransportContext context = new TransportContext(conf, new FetchPeer.BlockRpcHandler(conf, dir, LAYOUT));
        TransportServer server = context.createServer("127.0.0.1", 0, crypto
            ? List.of(new AuthServerBootstrap(conf, FetchPeer.Peers.SECRETS)) : List.of());
        CapturingRelay relay = new CapturingRelay("127.0.0.1", server.getPort());
        Fetchers.Spark fetcher = new Fetchers.Spark(relay.port(), LAYOUT, crypto)) {
      fetcher.fetchAll();
      return relay.captured();
    }
  }

  @Test
  void sparkNetworkCryptoPathSendsNoBlockPlaintext() throws Exception {
    byte[] data = data();
    byte[] wire = sparkWire(true);
    assertTrue(wire.length > data.length);
    assertEquals(-1, CapturingRelay.findAnyWindow(data, wire, 64));
  }

  @Test
  void sparkPlainPathDoesSendBlockPlaintext() throws Exception {
    byte[] data = data();
    assertNotEquals(-1, CapturingRelay.findAnyWindow(data, sparkWire(false), 64));
  }

  @Test
  void vrdmaEncryptedTcpPathSendsNoBlockPlaintext() throws Exception {
    byte[] data = data();
    try (TransportNode node = TransportNode.start(FetchPeer.Peers.vrdmaConf("tcp-enc", "", 0, LAYOUT.blockBytes()));
        BlockServer server = new BlockServer(node, BlockConf.defaults(), true)) {
      server.createNamespace(FetchPeer.NAMESPACE, FetchPeer.SECRET.getBytes(StandardCharsets.UTF_8));
      List<BlockSegment> segments = new ArrayList<>();
      for (int reduce = 0; reduce < LAYOUT.blocksIn(0); reduce++) {
        segments.add(new BlockSegment(BlockLayout.blockId(0, reduce), (long) reduce * LAYOUT.blockBytes(),
            LAYOUT.blockBytes()));
      }
      server.publish(FetchPeer.NAMESPACE, LAYOUT.file(dir, 0), segments);
      try (CapturingRelay relay = new CapturingRelay("127.0.0.1", node.advertisement().port());
          Fetchers.Vrdma fetcher = new Fetchers.Vrdma("tcp-enc", "", 0, relay.port(), LAYOUT)) {
        fetcher.fetchAll();
        byte[] wire = relay.captured();
        assertTrue(wire.length > data.length);
        assertEquals(-1, CapturingRelay.findAnyWindow(data, wire, 64));
      }
    }
  }
}
