package io.vrdma.transport.rsocket;

import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.tier.TierAvailability;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.spi.SelectorProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Whether this JVM's sockets run over rsockets: librdmacm's {@code librspreload.so} is preloaded into the
 * process, an RDMA device exists, and the JVM uses only calls the preload intercepts. The preload replaces
 * {@code socket}, {@code connect}, {@code read}, {@code write}, {@code poll} and friends; it does not replace
 * {@code epoll_*} or {@code sendfile64}, so Java NIO must use its poll selector (the JVM flag below), Netty
 * its NIO transport, and file regions must be copied through user buffers ({@link #preloadActive}).
 *
 * <p>The probe only reads the environment it is given ({@link Environment#current(boolean)} in a node), so every
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
   * @param processMaps the process's memory map ({@code /proc/self/maps}), where the librdmacm the preload
   *     loaded is named with its version
   * @param rpollFixed the user's word that this librdmacm has rpoll's time-out fix whatever its version says
   *     ({@link TransportConf#RSOCKET_RPOLL_FIXED})
   */
  public record Environment(String ldPreload, List<Path> libraryDirs, Path infinibandClass, String selectorProvider,
      boolean preferIpv4, Path processMaps, boolean rpollFixed) {
    /** This process's environment. */
    public static Environment current(boolean rpollFixed) {
      return new Environment(System.getenv("LD_PRELOAD"),
          List.of(Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/lib/aarch64-linux-gnu"), Path.of("/usr/lib64"),
              Path.of("/usr/lib"), Path.of("/lib/x86_64-linux-gnu"), Path.of("/lib64")),
          Path.of("/sys/class/infiniband"), SelectorProvider.provider().getClass().getName(),
          Boolean.getBoolean("java.net.preferIPv4Stack"), Path.of("/proc/self/maps"), rpollFixed);
    }
  }

  /**
   * The first release of each rdma-core stable line (major version → point release) with upstream's commit
   * "librdmacm: Fix rpoll in case of timeout" (2024-11, in 63.0). From 25.0 (2019, "rsockets: Wake-up all waiting
   * threads on poll events") up to those, every {@code rpoll} that times out leaves the process's poll count
   * raised; from the second on, each {@code rpoll} spins, never times out and ignores the descriptors that are not
   * rsockets, among them the wake-up pipe of every Java selector: an event loop sleeps until its own rsockets next
   * see traffic, so requests queued to it wait (connections stalled for 30 s in the Soft-RoCE bench).
   */
  static final Map<Integer, Integer> RPOLL_FIX = Map.ofEntries(Map.entry(40, 13), Map.entry(41, 13),
      Map.entry(42, 13), Map.entry(43, 12), Map.entry(44, 12), Map.entry(45, 11), Map.entry(46, 10),
      Map.entry(47, 9), Map.entry(48, 8), Map.entry(49, 8), Map.entry(50, 7), Map.entry(51, 7), Map.entry(52, 6),
      Map.entry(53, 6), Map.entry(54, 5), Map.entry(55, 4), Map.entry(56, 4), Map.entry(57, 3), Map.entry(58, 2),
      Map.entry(59, 2), Map.entry(60, 2), Map.entry(61, 1), Map.entry(62, 1));
  static final int RPOLL_FIXED_FROM_MAJOR = 63;
  static final int RPOLL_LEAK_SINCE_MAJOR = 25;
  /** rdma-core names the library file after its own version: librdmacm.so.1.3.44.0 is rdma-core 44.0. */
  private static final Pattern LIBRDMACM_FILE = Pattern.compile("librdmacm\\.so\\.1\\.\\d+\\.(\\d+)\\.(\\d+)$");

  /**
   * Why the librdmacm in {@code file} (a path or file name) cannot carry a JVM's sockets, or empty when its
   * version has rpoll's time-out fix ({@link #RPOLL_FIX}) or predates the bug.
   */
  static Optional<String> rpollLeak(String file) {
    Matcher m = LIBRDMACM_FILE.matcher(file);
    if (!m.find()) {
      return Optional.of(file + " does not name its rdma-core version, so whether its rpoll has the time-out fix"
          + " (rdma-core 44.12, 63.0 and the stable releases of docs/deployment-vm.md) cannot be told");
    }
    int major = Integer.parseInt(m.group(1));
    int minor = Integer.parseInt(m.group(2));
    Integer fixedIn = RPOLL_FIX.get(major);
    boolean fixed = major < RPOLL_LEAK_SINCE_MAJOR || major >= RPOLL_FIXED_FROM_MAJOR
        || (fixedIn != null && minor >= fixedIn);
    if (fixed) {
      return Optional.empty();
    }
    return Optional.of("librdmacm " + major + "." + minor + " (" + file + ") loses rpoll's wake-ups after a poll"
        + " times out, which stalls every Java selector on rsockets; rdma-core " + (fixedIn != null ? major + "."
        + fixedIn + " or " : "") + "63.0 and later have the fix (docs/deployment-vm.md says how to get it)");
  }

  /** The librdmacm this process loaded (named in its memory map), else the first installed one found. */
  private static Optional<String> librdmacmFile(Environment env, Path installed) {
    try (Stream<String> lines = Files.lines(env.processMaps())) {
      Optional<String> mapped = lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
          .filter(f -> f.contains("/librdmacm.so")).findFirst();
      if (mapped.isPresent()) {
        return mapped;
      }
    } catch (IOException | UncheckedIOException e) {
      // no memory map (not Linux): the installed library's real name is the next best witness
    }
    try {
      return Optional.of(installed.toRealPath().toString());
    } catch (IOException e) {
      return Optional.empty();
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
    if (!env.rpollFixed()) {
      Optional<String> leak = librdmacmFile(env, rdmacm.get()).flatMap(RsocketProbe::rpollLeak);
      if (leak.isPresent()) {
        return off(leak.get() + "; every socket of this JVM still runs over the preload: start it without"
            + " LD_PRELOAD, or set " + TransportConf.RSOCKET_RPOLL_FIXED.name()
            + "=true if your distribution backported the fix");
      }
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
