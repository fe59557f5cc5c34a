import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Locale;

/**
 * Measures what a link emulation gives: one TCP stream of N MB from one "host" to another, as
 * {@code run-hosts.sh} runs it (Java's single-file launcher, no build): the receiver in one namespace
 * ({@code java LinkProbe.java receive <address> <port>}), the sender in another
 * ({@code java LinkProbe.java send <address> <port> <MB>}), which prints the goodput in Gbit/s. So the report
 * can say what "unshaped" (veth at memory-copy speed) and each tc rate came to on this machine, rather than
 * assume the qdisc did what it was told.
 */
public final class LinkProbe {
  private LinkProbe() {}

  /**
   * Connects, retrying for up to a minute: the receiver's JVM compiles this file before it listens, which takes
   * seconds on a busy machine. A socket whose connect failed is closed, so each attempt takes a new one.
   */
  static Socket connect(InetSocketAddress at) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (true) {
      Socket s = new Socket();
      try {
        s.connect(at, 5000);
        return s;
      } catch (java.io.IOException e) {
        s.close();
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: LinkProbe receive <address> <port> | send <address> <port> <MB>");
      System.exit(2);
    }
    InetSocketAddress at = new InetSocketAddress(args[1], Integer.parseInt(args[2]));
    byte[] buf = new byte[1 << 20];
    if (args[0].equals("receive")) {
      try (ServerSocket server = new ServerSocket()) {
        server.setReuseAddress(true);
        server.bind(at);
        server.setSoTimeout(120_000); // never wait forever for a sender that gave up
        System.out.println("listening");
        System.out.flush();
        try (Socket s = server.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
          long n = 0;
          for (int r; (r = in.read(buf)) > 0; ) {
            n += r;
          }
          out.write(1); // the last byte arrived: the sender stops its clock on this
          out.flush();
          System.out.println("received " + n + " B");
        }
      }
      return;
    }
    long bytes = Long.parseLong(args[3]) * 1_000_000L;
    try (Socket s = connect(at)) {
      OutputStream out = s.getOutputStream();
      long start = System.nanoTime();
      for (long sent = 0; sent < bytes; sent += buf.length) {
        out.write(buf, 0, (int) Math.min(buf.length, bytes - sent));
      }
      s.shutdownOutput();
      if (s.getInputStream().read() != 1) {
        throw new IllegalStateException("receiver did not confirm");
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf(Locale.ROOT, "%.2f Gbit/s (%d MB in %.2f s)%n", bytes * 8 / seconds / 1e9, bytes / 1_000_000,
          seconds);
    }
  }
}
