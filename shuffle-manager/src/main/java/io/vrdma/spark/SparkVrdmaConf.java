package io.vrdma.spark;

import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import scala.Tuple2;

/** Reads the plugin's {@link ShuffleManagerConf} from a {@link SparkConf}. */
final class SparkVrdmaConf {
  private SparkVrdmaConf() {}

  static ShuffleManagerConf read(SparkConf conf) {
    Map<String, String> settings = new HashMap<>();
    for (Tuple2<String, String> entry : conf.getAll()) {
      settings.put(entry._1(), entry._2());
    }
    return ShuffleManagerConf.fromMap(settings);
  }
}
