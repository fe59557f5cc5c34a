package io.vrdma.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Tuple2;

/**
 * The driver of {@link ShadedPluginJarIT}, run in its own JVM whose class path holds Spark's jars and the shaded
 * plugin jar but none of our modules' classes: it runs a shuffle on a two-executor local-cluster and prints what
 * the test checks, one {@code key=value} per line on standard output.
 */
public final class ShadedPluginJob {
  /** What each executor logs once when its transport starts. */
  static final String START_UP_LINE = "vRDMA shuffle on executor ";

  private ShadedPluginJob() {}

  /** Runs the job; exits non-zero when the result is wrong. */
  public static void main(String[] args) throws Exception {
    Path arena = LocalCluster.arenaPath();
    SparkConf conf = LocalCluster.conf("shaded-plugin-jar", arena);
    int n = 20_000;
    int status;
    try (JavaSparkContext sc = LocalCluster.start(conf)) {
      List<Tuple2<Integer, Long>> rows = sc.parallelize(IntStream.range(0, n).boxed().collect(Collectors.toList()), 4)
          .mapToPair(i -> new Tuple2<>(i % 100, (long) i))
          .reduceByKey(new HashPartitioner(4), Long::sum)
          .collect();
      Map<Integer, Long> expected = new TreeMap<>();
      IntStream.range(0, n).forEach(i -> expected.merge(i % 100, (long) i, Long::sum));
      boolean correct = new TreeMap<>(rows.stream().collect(Collectors.toMap(Tuple2::_1, Tuple2::_2)))
          .equals(expected);
      VrdmaDriverEndpoint driver = VrdmaDriverEndpoint.current();
      System.out.println("correct=" + correct);
      System.out.println("managerSource=" + VrdmaShuffleManager.class.getProtectionDomain().getCodeSource()
          .getLocation().getPath());
      System.out.println("executors=" + driver.executors().size());
      for (String counter : List.of("bytes.shm", "bytes.tcp", "sparkFallbackBlocks", "failures")) {
        System.out.println(counter + "=" + driver.total(counter));
      }
      // the workers' directories are deleted when the cluster stops: read them now
      int line = 0;
      for (String startUp : LocalCluster.executorLogLines(sc.sc().applicationId(), START_UP_LINE)) {
        System.out.println("startUp." + line++ + "=" + startUp);
      }
      status = correct ? 0 : 1;
    } finally {
      Files.deleteIfExists(arena);
    }
    // only now: System.exit inside the try would skip the finally and leave the arena in /dev/shm
    System.exit(status);
  }
}
