package io.vrdma.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A Spark {@code local-cluster[2,1,1024]} from Maven jars alone: two executor JVMs that inherit the test
 * class path ({@code spark.testing} and a {@code spark.test.home} holding an empty {@code jars/} and
 * {@code launcher/target/scala-2.12/}), each with its own block server. Starting one takes seconds, so a test
 * class shares one.
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
      Files.createDirectories(home.resolve("launcher/target/scala-2.12"));
      home.toFile().deleteOnExit();
      System.setProperty("spark.test.home", home.toString());
      System.setProperty("spark.testing", "true");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
