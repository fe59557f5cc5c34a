package io.vrdma.transport.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.Connection;
import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Registration;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.TransportException.ReadTimeoutException;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.Patterns;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Bad input to the tcp server closes that connection only; the server serves everybody else on. */
@Timeout(60)
class TcpServerRobustnessTest {
  private TransportNode server;
  private TransportNode client;
  private Registration region;

  @BeforeEach
  void start() throws Exception {
    TransportConf conf = TransportConf.fromMap(Map.of(
        TransportConf.HOST.name(), "127.0.0.1",
        TransportConf.TIERS.name(), "tcp",
        TransportConf.TCP_MAX_FRAME.name(), "64k",
        TransportConf.READ_TIMEOUT.name(), "1s"));
    server = TransportNode.start(conf);
    client = TransportNode.start(conf);
    region = server.register(RegionSource.buffer(Patterns.buffer(7, 100_000)));
  }

  @AfterEach
  void stop() {
    region.close();
    client.close();
    server.close();
    assertEquals(0, client.bufferPool().outstandingBuffers(), client.bufferPool().leakReport());
  }

  /** Sends raw bytes on a fresh socket and reports whether the server closed it (EOF within 5 s). */
  private boolean serverClosesAfter(byte[] bytes) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", server.advertisement().port()), 5000);
      s.setSoTimeout(5000);
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      while (true) {
        int b = in.read();
        if (b < 0) {
          return true;
        }
      }
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (java.net.SocketException e) {
      return true; // reset by the server: closed as well
    }
  }

  private static byte[] frame(int length, byte type, long id, byte[] payload) throws Exception {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeInt(length);
    out.writeByte(type);
    out.writeLong(id);
    out.write(payload);
    return bytes.toByteArray();
  }

  private void assertServerStillServes() throws Exception {
    try (Connection c = client.connect(server.advertisement());
        PooledBuffer buf = client.bufferPool().acquire(1000)) {
      RegionDescriptor d = region.descriptor(Tier.TCP).orElseThrow();
      c.read(d, 500, 1000, buf, 0).get(10, TimeUnit.SECONDS);
      assertEquals(null, Patterns.mismatch(7, 500, buf.nioBuffer(), 0, 1000));
    }
  }

  @Test
  void garbageClosesThatConnectionOnly() throws Exception {
    try (Connection healthy = client.connect(server.advertisement())) {
      assertTrue(serverClosesAfter("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes()));
      assertTrue(healthy.isActive(), "another peer's connection survives");
    }
    assertServerStillServes();
  }

  @Test
  void oversizedFrameClosesTheConnection() throws Exception {
    assertTrue(serverClosesAfter(frame(100 << 20, Frames.HELLO, 1, new byte[16])));
    assertServerStillServes();
  }

  @Test
  void negativeOrTruncatedLengthClosesTheConnection() throws Exception {
    assertTrue(serverClosesAfter(frame(-5, Frames.HELLO, 1, new byte[0])));
    assertTrue(serverClosesAfter(frame(3, Frames.HELLO, 1, new byte[0])));
    assertServerStillServes();
  }

  @Test
  void requestBeforeHandshakeClosesTheConnection() throws Exception {
    assertTrue(serverClosesAfter(frame(9 + Frames.READ_PAYLOAD_BYTES, Frames.READ, 1, new byte[Frames.READ_PAYLOAD_BYTES])));
    assertServerStillServes();
  }

  @Test
  void malformedHelloAndReadCloseTheConnection() throws Exception {
    assertTrue(serverClosesAfter(frame(9 + 3, Frames.HELLO, 1, new byte[] {9, 9, 9})));
    byte[] hello = new NodeAdvertisement(1, "h", 1, Map.of()).toBytes();
    byte[] shortRead = new byte[5];
    java.io.ByteArrayOutputStream both = new java.io.ByteArrayOutputStream();
    both.write(frame(9 + hello.length, Frames.HELLO, 1, hello));
    both.write(frame(9 + shortRead.length, Frames.READ, 2, shortRead));
    assertTrue(serverClosesAfter(both.toByteArray()));
    assertServerStillServes();
  }

  @Test
  void silentPeerFailsReadsWithATimeout() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(() -> answerHelloThenSleep(silent), "silent-peer");
      acceptor.setDaemon(true);
      acceptor.start();
      try (Connection c = client.connect("127.0.0.1", silent.getLocalPort());
          PooledBuffer buf = client.bufferPool().acquire(100)) {
        long start = System.nanoTime();
        ExecutionException e = assertThrows(ExecutionException.class,
            () -> c.read(new RegionDescriptor(Tier.TCP, c.peer().nodeId(), 0, 1, 100), 0, 100, buf, 0)
                .get(10, TimeUnit.SECONDS));
        assertInstanceOf(ReadTimeoutException.class, e.getCause());
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(ms >= 900 && ms < 5000, "timed out after " + ms + " ms, configured 1 s");
      }
    }
  }

  @Test
  void unreachablePeerFailsToConnectWithAClearError() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    PeerUnavailableException e = assertThrows(PeerUnavailableException.class, () -> client.connect("127.0.0.1", port));
    assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
  }

  /** Accepts one connection, answers the handshake like a node, then never answers again. */
  private static void answerHelloThenSleep(ServerSocket socket) {
    try (Socket s = socket.accept()) {
      DataInputStream in = new DataInputStream(s.getInputStream());
      int length = in.readInt();
      byte type = in.readByte();
      long id = in.readLong();
      in.readFully(new byte[length - 9]);
      assertEquals(Frames.HELLO, type);
      byte[] adv = new NodeAdvertisement(99, "127.0.0.1", socket.getLocalPort(), Map.of(Tier.TCP, new byte[0])).toBytes();
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.write(frame(9 + adv.length, Frames.HELLO_ACK, id, adv));
      out.flush();
      Thread.sleep(20_000);
    } catch (Exception e) {
      // the test is over
    }
  }

}
