package io.vrdma.spark;

import java.io.File;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Tuple2;

/**
 * The driver of {@link JarsInstallIT}: a Spark 4 application as {@code spark-submit --jars <plugin jar>} runs it.
 * The plugin is not on this JVM's class path (so not on the executors' either, which inherit it); like
 * spark-submit, the driver sees it through a child class loader set as the thread's context loader, and the
 * executors get it from {@code spark.jars}. Prints {@code key=value} lines; touches no class of the plugin
 * directly (they are not on this class's loader).
 */
public final class JarsInstallJob {
  private static final String MANAGER = "io.vrdma.spark.VrdmaShuffleManager";

  private JarsInstallJob() {}

  public static void main(String[] args) throws Exception {
    Path jar = Path.of(args[0]).toAbsolutePath();
    try {
      Class.forName(MANAGER, false, JarsInstallJob.class.getClassLoader());
      System.out.println("error=the plugin is on the application class path: the job would prove nothing");
      System.exit(3);
    } catch (ClassNotFoundException expected) {
      // as with spark-submit --jars
    }
    Path home = Files.createTempDirectory("vrdma-jars-home");
    Files.createDirectories(home.resolve("jars"));
    Files.createDirectories(home.resolve("launcher/target/scala-"
        + scala.util.Properties.versionNumberString().replaceFirst("^(\\d+\\.\\d+)\\..*$", "$1")));
    System.setProperty("spark.test.home", home.toString());
    System.setProperty("spark.testing", "true");
    URLClassLoader user = new URLClassLoader(new URL[] {jar.toUri().toURL()}, JarsInstallJob.class.getClassLoader());
    Thread.currentThread().setContextClassLoader(user);

    Path arena = Path.of("/dev/shm", "vrdma-jars-install-" + UUID.randomUUID());
    SparkConf conf = new SparkConf()
        .setMaster("local-cluster[2,1,1024]")
        .setAppName("jars-install")
        .set("spark.ui.enabled", "false")
        .set("spark.jars", jar.toString())
        .set("spark.shuffle.manager", MANAGER)
        .set("spark.shuffle.vrdma.transport.tiers", "shm,tcp")
        .set("spark.shuffle.vrdma.transport.shm.arenaPath", arena.toString())
        .set("spark.shuffle.vrdma.transport.shm.arenaBytes", "128m")
        .set("spark.shuffle.vrdma.transport.pool.maxBytes", "64m");
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      int n = 30_000;
      List<Integer> numbers = IntStream.range(0, n).boxed().collect(Collectors.toList());
      Map<Integer, Long> actual = new TreeMap<>(sc.parallelize(numbers, 6)
          .mapToPair(i -> new Tuple2<>(i % 89, (long) i)).reduceByKey(Long::sum, 5).collectAsMap());
      Map<Integer, Long> expected = new TreeMap<>();
      for (int i = 0; i < n; i++) {
        expected.merge(i % 89, (long) i, Long::sum);
      }
      System.out.println("correct=" + expected.equals(actual));
      Class<?> endpoint = Class.forName("io.vrdma.spark.VrdmaDriverEndpoint", true, user);
      Object driver = endpoint.getMethod("current").invoke(null);
      Method total = endpoint.getMethod("total", String.class);
      System.out.println("managerSource="
          + new File(Class.forName(MANAGER, false, user).getProtectionDomain().getCodeSource().getLocation().toURI()));
      System.out.println("executors=" + ((Map<?, ?>) endpoint.getMethod("executors").invoke(driver)).size());
      for (String counter : List.of("bytes.shm", "sparkFallbackBlocks", "failures")) {
        System.out.println(counter + "=" + total.invoke(driver, counter));
      }
    } finally {
      Files.deleteIfExists(arena);
    }
  }
}
