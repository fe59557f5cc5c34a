package io.vrdma.bench;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * What the engines' own socket paths do under librdmacm's preload (benchmarks/vm/verbs-bench.sh runs it in the
 * Soft-RoCE guest, with the device's and the kernel's TCP counters read around each mode):
 *
 * <pre>
 *   PreloadSocketCheck http HOST MIB         the JDK's HTTP server and HttpURLConnection (what Hadoop's
 *                                            fetcher uses in the reduce task), every byte checked
 *   PreloadSocketCheck transferTo HOST MIB   FileChannel.transferTo into a socket (sendfile: how Netty's
 *                                            DefaultFileRegion serves Spark's and Hadoop's shuffle files)
 * </pre>
 *
 * Prints one line, "PASS: ..." or "FAIL: ...", and exits 0 or 1.
 */
public final class PreloadSocketCheck {
  private PreloadSocketCheck() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3 || !(args[0].equals("http") || args[0].equals("transferTo"))) {
      System.err.println("usage: PreloadSocketCheck http|transferTo HOST MIB");
      System.exit(2);
    }
    int bytes = Integer.parseInt(args[2]) << 20;
    String result;
    try {
      result = args[0].equals("http") ? http(args[1], bytes) : transferTo(args[1], bytes);
    } catch (Exception e) {
      result = "FAIL: " + args[0] + ": " + e;
    }
    System.out.println(result);
    System.exit(result.startsWith("PASS") ? 0 : 1);
  }

  private static byte[] pattern(int bytes) {
    byte[] b = new byte[bytes];
    for (int i = 0; i < bytes; i++) {
      b[i] = VerbsBench.patternAt(i);
    }
    return b;
  }

  private static String check(String what, byte[] got, int n, int bytes, long t0) {
    for (int i = 0; i < n; i++) {
      if (got[i] != VerbsBench.patternAt(i)) {
        return "FAIL: " + what + ": wrong byte at " + i;
      }
    }
    if (n != bytes) {
      return "FAIL: " + what + ": " + n + " of " + bytes + " bytes arrived";
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    return String.format(java.util.Locale.ROOT, "PASS: %s: %d bytes intact in %.2f s (%.1f MiB/s)", what, bytes, secs,
        bytes / secs / (1 << 20));
  }

  private static String http(String host, int bytes) throws Exception {
    byte[] body = pattern(bytes);
    HttpServer server = HttpServer.create(new InetSocketAddress(host, 0), 16);
    server.createContext("/data", exchange -> {
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    server.start();
    try {
      long t0 = System.nanoTime();
      HttpURLConnection c = (HttpURLConnection) new URL("http://" + host + ":" + server.getAddress().getPort()
          + "/data").openConnection();
      c.setReadTimeout(60_000);
      byte[] got = new byte[bytes];
      int n = 0;
      try (InputStream in = c.getInputStream()) {
        for (int r; n < bytes && (r = in.read(got, n, bytes - n)) > 0; ) {
          n += r;
        }
      }
      return check("HttpURLConnection from the JDK's HTTP server", got, n, bytes, t0);
    } finally {
      server.stop(0);
    }
  }

  private static String transferTo(String host, int bytes) throws Exception {
    Path file = Files.createTempFile("preload-check", ".bin");
    Files.write(file, pattern(bytes));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (ServerSocketChannel listen = ServerSocketChannel.open().bind(new InetSocketAddress(host, 0))) {
      Future<Long> sent = pool.submit(() -> {
        try (SocketChannel s = listen.accept(); FileChannel f = FileChannel.open(file, StandardOpenOption.READ)) {
          long done = 0;
          while (done < bytes) {
            done += f.transferTo(done, bytes - done, s);
          }
          return done;
        }
      });
      long t0 = System.nanoTime();
      try (SocketChannel c = SocketChannel.open(listen.getLocalAddress())) {
        c.socket().setSoTimeout(30_000);
        byte[] got = new byte[bytes];
        int n = 0;
        // a blocking read through the socket's stream honours the timeout: a sendfile that bypassed the rsocket
        // leaves this side waiting
        InputStream in = c.socket().getInputStream();
        try {
          for (int r; n < bytes && (r = in.read(got, n, bytes - n)) > 0; ) {
            n += r;
          }
        } catch (IOException e) {
          String server;
          try {
            server = "sender: " + sent.get(5, TimeUnit.SECONDS) + " bytes sent";
          } catch (Exception se) {
            server = "sender: " + se.getCause();
          }
          return "FAIL: transferTo (sendfile) into a socket: receiver got " + n + " of " + bytes + " bytes, then " + e
              + "; " + server;
        }
        String r = check("transferTo (sendfile) into a socket", got, n, bytes, t0);
        sent.get(30, TimeUnit.SECONDS);
        return r;
      }
    } finally {
      pool.shutdownNow();
      Files.deleteIfExists(file);
    }
  }
}
