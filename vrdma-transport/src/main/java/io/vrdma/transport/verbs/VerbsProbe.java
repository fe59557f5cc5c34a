package io.vrdma.transport.verbs;

import java.io.File;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The checks that decide whether the verbs tier can run on this node, each failing with a one-line reason
 * that says what to change. They use no DiSNI class, so that a missing jar or native library is reported
 * rather than thrown: DiSNI loads {@code libdisni} in a static initializer, and a failed initializer cannot
 * be retried in the same JVM.
 */
public final class VerbsProbe {
  /** Environment variable naming the {@code libdisni.so} to use (the bench scripts and docs use it). */
  public static final String LIBDISNI_ENV = "VRDMA_LIBDISNI";
  /** The JVM option DiSNI 2.1 needs on Java 17 to read direct buffers' addresses. */
  public static final String ADD_EXPORTS = "--add-exports java.base/sun.nio.ch=ALL-UNNAMED";

  static final Path DEVICES = Path.of("/sys/class/infiniband");
  private static final long CAP_IPC_LOCK = 1L << 14;

  private VerbsProbe() {}

  /**
   * Where {@code libdisni.so} would be loaded from, or why it cannot be: DiSNI calls
   * {@code System.loadLibrary("disni")}, which searches only {@code java.library.path}.
   *
   * @param libraryPath the value of {@code java.library.path}
   * @param envLibdisni the value of {@value #LIBDISNI_ENV}, or null when unset
   * @return the library file, or a one-line reason (as a failed {@link Check})
   */
  public static Check<Path> locateLibrary(String libraryPath, String envLibdisni) {
    String fileName = System.mapLibraryName("disni");
    List<Path> dirs = new ArrayList<>();
    for (String entry : (libraryPath == null ? "" : libraryPath).split(File.pathSeparator)) {
      if (!entry.isBlank()) {
        dirs.add(Path.of(entry).toAbsolutePath().normalize());
      }
    }
    if (envLibdisni != null && !envLibdisni.isBlank()) {
      Path lib = Path.of(envLibdisni).toAbsolutePath().normalize();
      if (!Files.isRegularFile(lib)) {
        return Check.fail(LIBDISNI_ENV + "=" + envLibdisni + " names no file");
      }
      if (!lib.getFileName().toString().equals(fileName)) {
        return Check.fail(LIBDISNI_ENV + "=" + envLibdisni + " must name a file called " + fileName
            + " (DiSNI loads the library by that name)");
      }
      if (!dirs.contains(lib.getParent())) {
        return Check.fail(LIBDISNI_ENV + "=" + envLibdisni + " is not on java.library.path " + dirs
            + ": start the JVM with -Djava.library.path=" + lib.getParent());
      }
      return Check.ok(lib);
    }
    for (Path dir : dirs) {
      Path lib = dir.resolve(fileName);
      if (Files.isRegularFile(lib)) {
        return Check.ok(lib);
      }
    }
    return Check.fail("libdisni not loadable: no " + fileName + " on java.library.path " + dirs
        + " (build it from DiSNI 2.1's release and start the JVM with -Djava.library.path=<its directory>;"
        + " " + LIBDISNI_ENV + " names it for the bench scripts)");
  }

  /** The RDMA devices the kernel has, from {@code /sys/class/infiniband}. */
  public static List<String> devices(Path sysfs) {
    String[] names = sysfs.toFile().list();
    if (names == null) {
      return List.of();
    }
    Arrays.sort(names);
    return List.of(names);
  }

  /**
   * The IPv4 address rdma_cm reaches a device through: that of the network interface behind its first
   * port's GID table ({@code ports/1/gid_attrs/ndevs/0}, present for RoCE and Soft-RoCE devices).
   */
  public static Optional<InetAddress> deviceAddress(Path sysfs, String device) {
    Path ndev = sysfs.resolve(device).resolve("ports/1/gid_attrs/ndevs/0");
    try {
      String netdev = Files.readString(ndev, StandardCharsets.US_ASCII).trim();
      NetworkInterface nic = NetworkInterface.getByName(netdev);
      if (nic == null) {
        return Optional.empty();
      }
      return Collections.list(nic.getInetAddresses()).stream().filter(a -> a instanceof Inet4Address).findFirst();
    } catch (IOException | SecurityException e) {
      return Optional.empty();
    }
  }

  /** The first address of an RDMA device's interface, or empty when none has one. */
  public static Optional<InetAddress> anyDeviceAddress() {
    for (String device : devices(DEVICES)) {
      Optional<InetAddress> a = deviceAddress(DEVICES, device);
      if (a.isPresent()) {
        return a;
      }
    }
    return Optional.empty();
  }

  /** Whether an address belongs to a local network interface (one rdma_cm could bind). */
  static boolean isLocal(InetAddress address) {
    try {
      return NetworkInterface.getByInetAddress(address) != null;
    } catch (SocketException e) {
      return false;
    }
  }

  /**
   * Whether the locked-memory limit lets the node pin what it is configured to register.
   *
   * @param procLimits the text of {@code /proc/self/limits}
   * @param procStatus the text of {@code /proc/self/status} (for CAP_IPC_LOCK, which lifts the limit)
   * @param needBytes pooled receive buffers plus the registration budget
   * @param needWhat how {@code needBytes} is made up, for the message
   */
  public static Check<Long> checkMemlock(String procLimits, String procStatus, long needBytes, String needWhat) {
    long soft = memlockSoftLimit(procLimits);
    if (soft < 0 || soft >= needBytes || hasIpcLock(procStatus)) {
      return Check.ok(soft);
    }
    long needKiB = (needBytes + 1023) >> 10;
    return Check.fail("RLIMIT_MEMLOCK is " + mib(soft) + ", the configured pools need " + mib(needBytes) + " ("
        + needWhat + "): raise it to at least " + needKiB + " KiB (ulimit -l " + needKiB
        + ", LimitMEMLOCK=infinity for a systemd service, memlock in /etc/security/limits.conf, --ulimit memlock=-1"
        + " for docker) or lower those keys");
  }

  /** The soft "Max locked memory" limit in bytes, -1 when unlimited or unknown. */
  static long memlockSoftLimit(String procLimits) {
    for (String line : procLimits.split("\n")) {
      if (line.startsWith("Max locked memory")) {
        String[] f = line.substring("Max locked memory".length()).trim().split("\\s+");
        if (f.length == 0 || f[0].equals("unlimited")) {
          return -1;
        }
        try {
          return Long.parseLong(f[0]);
        } catch (NumberFormatException e) {
          return -1;
        }
      }
    }
    return -1;
  }

  static boolean hasIpcLock(String procStatus) {
    for (String line : procStatus.split("\n")) {
      if (line.startsWith("CapEff:")) {
        try {
          return (Long.parseUnsignedLong(line.substring("CapEff:".length()).trim(), 16) & CAP_IPC_LOCK) != 0;
        } catch (NumberFormatException e) {
          return false;
        }
      }
    }
    return false;
  }

  /** Reads a /proc file, empty when it cannot be read (the check then passes: the device decides). */
  static String readProc(String path) {
    try {
      return Files.readString(Path.of(path), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      return "";
    }
  }

  private static String mib(long bytes) {
    return bytes < 0 ? "unlimited" : bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB" : bytes + " bytes";
  }

  /**
   * The outcome of one check: a value, or a one-line reason with the exception behind it.
   *
   * @param value what was found, when the check passed
   * @param reason why the tier cannot run, when it failed
   * @param cause the failure behind the reason, if any
   */
  public record Check<T>(T value, String reason, Throwable cause) {
    static <T> Check<T> ok(T value) {
      return new Check<>(value, null, null);
    }

    static <T> Check<T> fail(String reason) {
      return new Check<>(null, reason, null);
    }

    static <T> Check<T> fail(String reason, Throwable cause) {
      return new Check<>(null, reason, cause);
    }

    /** Whether the check found what the tier needs. */
    public boolean passed() {
      return reason == null;
    }
  }
}
