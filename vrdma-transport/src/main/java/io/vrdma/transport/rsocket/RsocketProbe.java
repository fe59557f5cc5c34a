package io.vrdma.transport.rsocket;

import io.vrdma.transport.Tier;
import io.vrdma.transport.tier.TierAvailability;
import java.io.IOException;
import java.nio.channels.spi.SelectorProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Whether this JVM's sockets run over rsockets: librdmacm's {@code librspreload.so} is preloaded into the
 * process, an RDMA device exists, and the JVM uses only calls the preload intercepts. The preload replaces
 * {@code socket}, {@code connect}, {@code read}, {@code write}, {@code poll} and friends; it does not replace
 * {@code epoll_*} or {@code sendfile64}, so Java NIO must use its poll selector (the JVM flag below), Netty
 * its NIO transport, and file regions must be copied through user buffers ({@link #preloadActive}).
 *
 * <p>The probe only reads the environment it is given ({@link Environment#current()} in a node), so every
 * reason can be tested on a host without RDMA.
 */
public final class RsocketProbe {
  /** The preload library's file name, as rdma-core installs it (…/rsocket/librspreload.so). */
  public static final String PRELOAD_LIBRARY = "librspreload.so";
  /** The selector provider whose poll(2) calls the preload intercepts. */
  public static final String POLL_SELECTOR = "sun.nio.ch.PollSelectorProvider";

  private RsocketProbe() {}

  /**
   * What the probe looks at.
   *
   * @param ldPreload the process's {@code LD_PRELOAD}, or null
   * @param libraryDirs where librdmacm may be installed
   * @param infinibandClass the sysfs class directory of RDMA devices ({@code /sys/class/infiniband})
   * @param selectorProvider the class name of the JVM's selector provider
   * @param preferIpv4 the JVM's {@code java.net.preferIPv4Stack}
   */
  public record Environment(String ldPreload, List<Path> libraryDirs, Path infinibandClass, String selectorProvider,
      boolean preferIpv4) {
    /** This process's environment. */
    public static Environment current() {
      return new Environment(System.getenv("LD_PRELOAD"),
          List.of(Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/lib/aarch64-linux-gnu"), Path.of("/usr/lib64"),
              Path.of("/usr/lib"), Path.of("/lib/x86_64-linux-gnu"), Path.of("/lib64")),
          Path.of("/sys/class/infiniband"), SelectorProvider.provider().getClass().getName(),
          Boolean.getBoolean("java.net.preferIPv4Stack"));
    }
  }

  /** Whether {@code LD_PRELOAD} names librspreload (whatever else holds): then no socket may use sendfile or epoll. */
  public static boolean preloadActive(String ldPreload) {
    return preloadEntry(ldPreload).isPresent();
  }

  /** Whether this process runs under the preload. */
  public static boolean preloadActive() {
    return preloadActive(System.getenv("LD_PRELOAD"));
  }

  private static Optional<String> preloadEntry(String ldPreload) {
    if (ldPreload == null) {
      return Optional.empty();
    }
    // ld.so separates LD_PRELOAD entries by spaces or colons
    return Stream.of(ldPreload.split("[ :]+"))
        .filter(e -> Path.of(e.isEmpty() ? "." : e).getFileName().toString().startsWith(PRELOAD_LIBRARY))
        .findFirst();
  }

  /** Probes the rsocket tier in {@code env}: available with what it found, or unavailable with one line why. */
  public static TierAvailability probe(Environment env) {
    Optional<String> preload = preloadEntry(env.ldPreload());
    if (preload.isEmpty()) {
      return off("LD_PRELOAD does not name " + PRELOAD_LIBRARY + " (start the JVM with"
          + " LD_PRELOAD=/usr/lib/x86_64-linux-gnu/rsocket/" + PRELOAD_LIBRARY + ", see docs/deployment-vm.md)");
    }
    if (preload.get().contains("/") && !Files.isRegularFile(Path.of(preload.get()))) {
      return off("LD_PRELOAD names " + preload.get() + ", which does not exist (install rdma-core's librdmacm1)");
    }
    Optional<Path> rdmacm = env.libraryDirs().stream().map(d -> d.resolve("librdmacm.so.1")).filter(Files::exists)
        .findFirst();
    if (rdmacm.isEmpty()) {
      return off("librdmacm.so.1 not found in " + env.libraryDirs() + " (install rdma-core's librdmacm1)");
    }
    List<String> devices = devices(env.infinibandClass());
    if (devices.isEmpty()) {
      return off("no RDMA device in " + env.infinibandClass()
          + " (load the device's driver, or add Soft-RoCE: rdma link add rxe0 type rxe netdev <nic>)");
    }
    if (!POLL_SELECTOR.equals(env.selectorProvider())) {
      return off("the JVM's selector is " + env.selectorProvider() + ", whose epoll the preload does not intercept;"
          + " start the JVM with -Djava.nio.channels.spi.SelectorProvider=" + POLL_SELECTOR);
    }
    if (!env.preferIpv4()) {
      return off("java.net.preferIPv4Stack is not true: the JVM's dual-stack IPv6 sockets do not become rsockets"
          + " under the preload configuration of docs/deployment-vm.md; start the JVM with -Djava.net.preferIPv4Stack=true");
    }
    return TierAvailability.available(Tier.RSOCKET, "rsockets via " + preload.get() + " on " + String.join(",", devices)
        + ", poll selector, file regions copied");
  }

  private static List<String> devices(Path infinibandClass) {
    if (!Files.isDirectory(infinibandClass)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(infinibandClass)) {
      return entries.map(p -> p.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  private static TierAvailability off(String why) {
    return TierAvailability.unavailable(Tier.RSOCKET, why, null);
  }
}
