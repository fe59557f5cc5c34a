package io.vrdma.bench;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the engines' own socket paths do under librdmacm's preload (benchmarks/vm/verbs-bench.sh runs it in the
 * Soft-RoCE guest, with the device's and the kernel's TCP counters read around each mode):
 *
 * <pre>
 *   PreloadSocketCheck http HOST MIB         the JDK's HTTP server and HttpURLConnection (what Hadoop's
 *                                            fetcher uses in the reduce task), every byte checked
 *   PreloadSocketCheck transferTo HOST MIB   FileChannel.transferTo into a socket (sendfile: how Netty's
 *                                            DefaultFileRegion serves Spark's and Hadoop's shuffle files)
 *   PreloadSocketCheck timedSelect HOST N    N selects of 200 ms on an idle connected socket, then a select woken
 *                                            from another thread: what every NIO event loop (Netty's, ours)
 *                                            does; librdmacm's rpoll before the fix of rdma-core 44.12 / 63.0
 *                                            loses its poll count on each time-out, after which a select spins,
 *                                            never times out and misses the selector's wake-up pipe
 * </pre>
 *
 * Prints one line, "PASS: ..." or "FAIL: ...", and exits 0 or 1.
 */
public final class PreloadSocketCheck {
  private PreloadSocketCheck() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3 || !List.of("http", "transferTo", "timedSelect").contains(args[0])) {
      System.err.println("usage: PreloadSocketCheck http|transferTo HOST MIB | PreloadSocketCheck timedSelect HOST N");
      System.exit(2);
    }
    int number = Integer.parseInt(args[2]);
    String result;
    try {
      result = switch (args[0]) {
        case "http" -> http(args[1], number << 20);
        case "transferTo" -> transferTo(args[1], number << 20);
        default -> timedSelect(args[1], number);
      };
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

  static String http(String host, int bytes) throws Exception {
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

  static String transferTo(String host, int bytes) throws Exception {
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

  /** How long a select of {@link #SELECT_MS} may take before the check calls it lost: generous under emulation. */
  private static final long SELECT_GIVE_UP_MS = 15_000;
  private static final long SELECT_MS = 200;

  /**
   * Times {@code rounds} selects of 200 ms on an idle connected socket and then a select without a time-out woken
   * by {@link Selector#wakeup()} from this thread, each on a selector thread of its own with a deadline. A select
   * that misses its deadline is reported with the CPU its thread burnt meanwhile (spinning, with the rpoll bug)
   * and the check exits: that thread cannot be stopped.
   */
  static String timedSelect(String host, int rounds) throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    try (ServerSocketChannel listen = ServerSocketChannel.open().bind(new InetSocketAddress(host, 0));
        SocketChannel client = SocketChannel.open(listen.getLocalAddress());
        SocketChannel served = listen.accept();
        Selector selector = Selector.open()) {
      // the served end stays open and silent: the client's socket is connected and idle
      served.configureBlocking(true);
      client.configureBlocking(false);
      client.register(selector, SelectionKey.OP_READ);
      List<Long> tookMs = new ArrayList<>();
      long[] selectorThread = new long[1];
      for (int round = 1; round <= rounds + 1; round++) {
        boolean woken = round > rounds;
        CompletableFuture<Long> took = CompletableFuture.supplyAsync(() -> {
          selectorThread[0] = Thread.currentThread().getId();
          long t0 = System.nanoTime();
          try {
            int ready = woken ? selector.select() : selector.select(SELECT_MS);
            if (ready != 0) {
              throw new IllegalStateException(ready + " keys ready on an idle socket");
            }
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
          return (System.nanoTime() - t0) / 1_000_000;
        }, runnable -> new Thread(runnable, "timed-select").start());
        if (woken) {
          Thread.sleep(SELECT_MS);
          selector.wakeup();
        }
        try {
          tookMs.add(took.get(SELECT_GIVE_UP_MS, TimeUnit.MILLISECONDS));
        } catch (TimeoutException e) {
          long cpuMs = threads.getThreadCpuTime(selectorThread[0]) / 1_000_000;
          // closing the selector would wait for the stuck select forever (it holds the selector's lock): say it
          // and stop the JVM here
          String which = woken ? "a select woken by Selector.wakeup() after " + SELECT_MS + " ms"
              : "select(" + SELECT_MS + " ms) number " + round;
          System.out.println("FAIL: timedSelect: " + which + " on an idle socket had not returned after "
              + SELECT_GIVE_UP_MS + " ms, its thread burnt " + cpuMs + " ms of CPU meanwhile (earlier selects took "
              + tookMs + " ms): the preload's rpoll lost a time-out or a wake-up");
          System.out.flush();
          Runtime.getRuntime().halt(1);
        }
      }
      return "PASS: timedSelect: " + rounds + " selects of " + SELECT_MS + " ms on an idle socket took "
          + tookMs.subList(0, rounds) + " ms; a select woken after " + SELECT_MS + " ms returned after "
          + tookMs.get(rounds) + " ms";
    }
  }
}
