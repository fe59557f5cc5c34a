package io.vrdma.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A Spark {@code local-cluster[2,1,1024]} from Maven jars alone: two executor JVMs that inherit the test
 * class path ({@code spark.testing} and a {@code spark.test.home} holding an empty {@code jars/} and
 * {@code launcher/target/scala-2.12/}, or {@code scala-2.13/} on Spark 4), each with its own block server.
 * Starting one takes seconds, so a test class shares one.
 */
final class LocalCluster {
  private LocalCluster() {}

  /** A fresh arena file under /dev/shm for one cluster: its executors share it, nothing else does. */
  static Path arenaPath() {
    return Path.of("/dev/shm", "vrdma-spark-test-" + UUID.randomUUID());
  }

  /** The base configuration: our manager, a private shm arena, small buffers. */
  static SparkConf conf(String appName, Path arena) {
    prepareSparkHome();
    return new SparkConf()
        .setMaster("local-cluster[2,1,1024]")
        .setAppName(appName)
        .set("spark.ui.enabled", "false")
        .set("spark.shuffle.manager", VrdmaShuffleManager.class.getName())
        .set("spark.shuffle.vrdma.transport.shm.arenaPath", arena.toString())
        .set("spark.shuffle.vrdma.transport.shm.arenaBytes", "128m")
        .set("spark.shuffle.vrdma.transport.pool.maxBytes", "64m");
  }

  /**
   * The lines of an application's executor logs that contain {@code fragment}. In tests each worker of a
   * local-cluster works in a {@code worker-*} directory under {@code java.io.tmpdir}, deleted when the cluster
   * stops, and keeps each executor's standard error in {@code <appId>/<executorId>/stderr} there.
   */
  static List<String> executorLogLines(String appId, String fragment) {
    List<String> lines = new ArrayList<>();
    // only worker-*/<appId>: other directories of the temp dir (other JVMs' block managers) come and go meanwhile
    try (Stream<Path> workers = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      for (Path worker : workers.filter(p -> p.getFileName().toString().startsWith("worker-")).toList()) {
        Path app = worker.resolve(appId);
        if (!Files.isDirectory(app)) {
          continue;
        }
        try (Stream<Path> logs = Files.find(app, 2, (p, a) -> p.getFileName().toString().equals("stderr"))) {
          for (Path log : logs.collect(Collectors.toList())) {
            Files.readAllLines(log).stream().filter(l -> l.contains(fragment)).forEach(lines::add);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return lines;
  }

  static JavaSparkContext start(SparkConf conf) {
    return new JavaSparkContext(conf);
  }

  private static synchronized void prepareSparkHome() {
    if (System.getProperty("spark.test.home") != null) {
      return;
    }
    try {
      Path home = Files.createTempDirectory("vrdma-spark-home");
      Files.createDirectories(home.resolve("jars"));
      // Spark's launcher wants the build directory of its own Scala line: 2.12 for Spark 3.5, 2.13 for Spark 4
      Files.createDirectories(home.resolve("launcher/target/scala-"
          + scala.util.Properties.versionNumberString().replaceFirst("^(\\d+\\.\\d+)\\..*$", "$1")));
      home.toFile().deleteOnExit();
      System.setProperty("spark.test.home", home.toString());
      System.setProperty("spark.testing", "true");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
