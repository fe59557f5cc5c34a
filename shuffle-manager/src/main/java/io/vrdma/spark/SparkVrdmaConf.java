package io.vrdma.spark;

import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import scala.Tuple2;

/**
 * Maps Spark's configuration onto the transport's and block layer's: every key of the plugin lives under
 * {@code spark.shuffle.vrdma.}, and {@code spark.shuffle.vrdma.X} is the layers' {@code vrdma.X}
 * (so {@code spark.shuffle.vrdma.transport.tiers} sets {@code vrdma.transport.tiers}).
 */
public final class SparkVrdmaConf {
  /** Prefix of every Spark key of the plugin. */
  public static final String SPARK_PREFIX = "spark.shuffle.vrdma.";

  private SparkVrdmaConf() {}

  /** The plugin's keys of {@code conf}, renamed to the layers' {@code vrdma.*} names. */
  public static Map<String, String> layerSettings(SparkConf conf) {
    Map<String, String> out = new HashMap<>();
    for (Tuple2<String, String> entry : conf.getAll()) {
      if (entry._1().startsWith(SPARK_PREFIX)) {
        out.put("vrdma." + entry._1().substring(SPARK_PREFIX.length()), entry._2());
      }
    }
    return out;
  }
}
