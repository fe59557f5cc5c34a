package io.vrdma.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.serializer.Serializer;
import org.apache.spark.util.collection.ExternalSorter;
import scala.Option;
import scala.math.Ordering;

/**
 * The few Spark calls whose signatures differ between the Spark lines this plugin is built for, in the Spark 3.5
 * (Scala 2.12) form. The sources in {@code src/main/java} are shared with {@code ../shuffle-manager-spark4}, which
 * has its own {@code SparkShims} with the same methods for Spark 4.
 */
final class SparkShims {
  private SparkShims() {}

  /** The reduce side's sorter by key, without aggregator or partitioner, as Spark's own shuffle reader makes it. */
  static <K, C> ExternalSorter<K, C, C> newKeySorter(TaskContext context, Ordering<K> ordering, Serializer serializer) {
    return new ExternalSorter<>(context, Option.empty(), Option.empty(), Option.apply(ordering), serializer);
  }

  /** Spark 4's line, where {@code spark.ssl.rpc.*} exists: false here. */
  static final boolean SPARK_4 = false;

  /** Whether Spark encrypts its RPC and block transfer with TLS: Spark 3.5 has no such setting. */
  static boolean sslRpcEnabled(org.apache.spark.SecurityManager securityManager) {
    return false;
  }
}
