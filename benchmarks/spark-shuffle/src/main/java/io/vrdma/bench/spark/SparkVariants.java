package io.vrdma.bench.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * What the Spark benchmarks share: a {@code local-cluster} whose executors inherit the driver's class path, the
 * shuffle variants compared (stock sort shuffle, with and without host-local disk reads, and our manager on shm
 * and on tcp), and task metrics summed through a listener. Used by {@link ShuffleJobBenchmark} and the TPC-DS
 * runner ({@code benchmarks/tpcds}).
 */
public final class SparkVariants {
  /** Every variant, in report order. */
  /** Size of the shm arena the benchmarks give our manager. */
  public static final String BENCH_ARENA_BYTES = "1g";

  public static final List<String> ALL = List.of("stock", "stock-hostlocal", "vrdma-shm", "vrdma-tcp");

  /** Our shuffle manager's class name (on the class path of driver and executors). */
  public static final String MANAGER = "io.vrdma.spark.VrdmaShuffleManager";

  private SparkVariants() {}

  /**
   * Makes {@code local-cluster} executors start from the driver's {@code java.class.path}: Spark does that when
   * {@code spark.testing} is set and {@code spark.test.home} exists with an empty {@code jars/} (and the launcher
   * folder it checks), so Maven's jars are enough and no Spark distribution is needed. Idempotent.
   */
  public static synchronized void prepareSparkHome() {
    if (System.getProperty("spark.test.home") != null) {
      return;
    }
    try {
      Path home = Files.createTempDirectory("vrdma-spark-home");
      Files.createDirectories(home.resolve("jars"));
      // Spark's launcher looks for the build of its own Scala line: scala-2.12 for Spark 3.5, 2.13 for Spark 4
      Files.createDirectories(home.resolve("launcher/target/scala-" + scalaBinaryVersion()));
      System.setProperty("spark.test.home", home.toString());
      System.setProperty("spark.testing", "true");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The Scala line this JVM runs ("2.12", "2.13"), which is the Spark build's. */
  public static String scalaBinaryVersion() {
    return scala.util.Properties.versionNumberString().replaceFirst("^(\\d+\\.\\d+)\\..*$", "$1");
  }

  /**
   * Sets the shuffle of {@code variant} on {@code conf}. Spark 3.5 reads host-local blocks from disk by default
   * ({@code spark.shuffle.readHostLocalDisk=true}): with every executor on one host that is no transfer at all, so
   * "stock" turns it off to move blocks over Netty as between hosts, "stock-hostlocal" keeps it (the no-transfer
   * bound), and ours turns it off too so that every remote block goes through our transport.
   *
   * @param arena the shm arena file of this application (ours only; deleted by the caller afterwards)
   * @param arenaBytes its size, as a Spark size string ("1g")
   * @throws IllegalArgumentException for an unknown variant
   */
  public static SparkConf apply(SparkConf conf, String variant, Path arena, String arenaBytes) {
    switch (variant) {
      case "stock" -> conf.set("spark.shuffle.readHostLocalDisk", "false");
      case "stock-hostlocal" -> conf.set("spark.shuffle.readHostLocalDisk", "true");
      case "vrdma-shm", "vrdma-tcp" -> conf
          .set("spark.shuffle.readHostLocalDisk", "false")
          .set("spark.shuffle.manager", MANAGER)
          .set("spark.shuffle.vrdma.transport.tiers", variant.equals("vrdma-shm") ? "shm,tcp" : "tcp")
          .set("spark.shuffle.vrdma.transport.shm.arenaPath", arena.toString())
          .set("spark.shuffle.vrdma.transport.shm.arenaBytes", arenaBytes);
      default -> throw new IllegalArgumentException("unknown shuffle variant " + variant + " (known: "
          + String.join(",", ALL) + ")");
    }
    return conf;
  }

  /** True for the variants that run our shuffle manager. */
  public static boolean isOurs(String variant) {
    return variant.startsWith("vrdma-");
  }

  /** Waits until {@code executors} executors (besides the driver) have registered. */
  public static void awaitExecutors(SparkContext sc, int executors, long timeoutSeconds)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
    while (sc.getExecutorMemoryStatus().size() < executors + 1) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(executors + " executors did not register within " + timeoutSeconds + " s");
      }
      Thread.sleep(100);
    }
  }

  /** Sums of the task metrics of the tasks that ended since the last {@link #reset}. */
  public static final class MetricsListener extends SparkListener {
    /** Executor CPU time of the tasks, ns. */
    public final AtomicLong cpuNanos = new AtomicLong();
    /** Shuffle bytes written by map tasks. */
    public final AtomicLong shuffleWritten = new AtomicLong();
    /** Shuffle bytes read by reduce tasks, local and remote. */
    public final AtomicLong shuffleRead = new AtomicLong();
    /** The remote part of {@link #shuffleRead}. */
    public final AtomicLong remoteRead = new AtomicLong();

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
      TaskMetrics m = end.taskMetrics();
      if (m == null) {
        return;
      }
      cpuNanos.addAndGet(m.executorCpuTime());
      shuffleWritten.addAndGet(m.shuffleWriteMetrics().bytesWritten());
      shuffleRead.addAndGet(m.shuffleReadMetrics().totalBytesRead());
      remoteRead.addAndGet(m.shuffleReadMetrics().remoteBytesRead());
    }

    /** Starts counting afresh (call after {@code listenerBus().waitUntilEmpty()}). */
    public void reset() {
      cpuNanos.set(0);
      shuffleWritten.set(0);
      shuffleRead.set(0);
      remoteRead.set(0);
    }
  }
}
