package io.vrdma.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** A test class sharing one two-executor local-cluster, configured by the subclass. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ClusterTest {
  protected Path arena;
  protected JavaSparkContext sc;

  /** This class's settings on top of {@link LocalCluster#conf}. */
  protected abstract SparkConf configure(SparkConf conf);

  @BeforeAll
  void startCluster() {
    arena = LocalCluster.arenaPath();
    sc = LocalCluster.start(configure(LocalCluster.conf(getClass().getSimpleName(), arena)));
  }

  @AfterAll
  void stopCluster() throws IOException {
    if (sc != null) {
      sc.stop();
    }
    Files.deleteIfExists(arena);
  }
}
