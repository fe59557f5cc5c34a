package io.vrdma.transport.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test-only TCP relay, a wiretap: clients connect to {@link #port()}, each connection is relayed to the
 * target, and every byte in either direction is recorded, so a test can look for plaintext on the wire. It
 * can also flip one byte of the target's answers once, after a given count, to play an attacker altering
 * traffic.
 */
public final class CapturingRelay implements AutoCloseable {
  private final ServerSocket listener;
  private final InetSocketAddress target;
  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
  private final List<Socket> sockets = new ArrayList<>();
  private final AtomicInteger connections = new AtomicInteger();
  private volatile long flipAfter = -1;
  private volatile boolean closed;

  /** Starts relaying from a free port on 127.0.0.1 to {@code targetHost:targetPort}. */
  public CapturingRelay(String targetHost, int targetPort) throws IOException {
    this.target = new InetSocketAddress(targetHost, targetPort);
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::acceptLoop, "capturing-relay-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Where clients connect. */
  public int port() {
    return listener.getLocalPort();
  }

  /** Connections relayed so far. */
  public int connections() {
    return connections.get();
  }

  /** Flips one bit of the byte the target sends after {@code bytes} bytes of its answers (counted over all connections). */
  public void flipOnceAfter(long bytes) {
    flipAfter = bytes;
  }

  /** Everything recorded so far, both directions of every connection, in arrival order. */
  public byte[] captured() {
    synchronized (captured) {
      return captured.toByteArray();
    }
  }

  private void acceptLoop() {
    long[] fromTarget = {0};
    while (!closed) {
      try {
        Socket client = listener.accept();
        Socket server = new Socket();
        server.connect(target, 5000);
        client.setTcpNoDelay(true);
        server.setTcpNoDelay(true);
        synchronized (sockets) {
          sockets.add(client);
          sockets.add(server);
        }
        connections.incrementAndGet();
        pump(client.getInputStream(), server.getOutputStream(), client, server, null);
        pump(server.getInputStream(), client.getOutputStream(), server, client, fromTarget);
      } catch (IOException e) {
        if (!closed) {
          System.err.println("capturing relay: " + e);
        }
      }
    }
  }

  private void pump(InputStream in, OutputStream out, Socket from, Socket to, long[] countFromTarget) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[64 * 1024];
      try {
        int n;
        while ((n = in.read(buf)) > 0) {
          if (countFromTarget != null) {
            synchronized (countFromTarget) {
              long flip = flipAfter;
              if (flip >= 0 && countFromTarget[0] + n > flip) {
                int at = (int) Math.max(0, flip - countFromTarget[0]);
                buf[at] ^= 0x01;
                flipAfter = -1;
              }
              countFromTarget[0] += n;
            }
          }
          synchronized (captured) {
            captured.write(buf, 0, n);
          }
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // one side closed: close the other as a real network path would
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "capturing-relay-pump");
    t.setDaemon(true);
    t.start();
  }

  /**
   * The offset in {@code data} of a {@code window}-byte run of {@code data} that also appears somewhere in the
   * capture, or -1 when there is none. Every window of {@code data} is indexed by a rolling hash and every
   * window of the capture is looked up, each hit confirmed byte by byte.
   */
  public long findAnyWindowOf(byte[] data, int window) {
    return findAnyWindow(data, captured(), window);
  }

  /** As {@link #findAnyWindowOf}, over a given haystack. */
  public static long findAnyWindow(byte[] data, byte[] haystack, int window) {
    if (data.length < window || haystack.length < window) {
      return -1;
    }
    int windows = data.length - window + 1;
    int capacity = Integer.highestOneBit(Math.max(16, windows * 2)) << 1;
    long[] hashes = new long[capacity];
    int[] positions = new int[capacity];
    java.util.Arrays.fill(positions, -1);
    final long base = 0x100000001B3L;
    long power = 1;
    for (int i = 0; i < window - 1; i++) {
      power *= base;
    }
    long h = 0;
    for (int i = 0; i < data.length; i++) {
      if (i >= window) {
        h -= (data[i - window] & 0xff) * power;
      }
      h = h * base + (data[i] & 0xff);
      if (i >= window - 1) {
        int slot = (int) (mix(h) & (capacity - 1));
        while (positions[slot] >= 0 && hashes[slot] != h) {
          slot = (slot + 1) & (capacity - 1);
        }
        if (positions[slot] < 0) {
          hashes[slot] = h;
          positions[slot] = i - window + 1;
        }
      }
    }
    h = 0;
    for (int i = 0; i < haystack.length; i++) {
      if (i >= window) {
        h -= (haystack[i - window] & 0xff) * power;
      }
      h = h * base + (haystack[i] & 0xff);
      if (i >= window - 1) {
        int slot = (int) (mix(h) & (capacity - 1));
        while (positions[slot] >= 0) {
          if (hashes[slot] == h && java.util.Arrays.equals(data, positions[slot], positions[slot] + window,
              haystack, i - window + 1, i + 1)) {
            return positions[slot];
          }
          slot = (slot + 1) & (capacity - 1);
        }
      }
    }
    return -1;
  }

  private static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    return h ^ (h >>> 33);
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listener.close();
    synchronized (sockets) {
      sockets.forEach(CapturingRelay::closeQuietly);
    }
  }
}
