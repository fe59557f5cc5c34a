package io.vrdma.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.serializer.Serializer;
import org.apache.spark.util.collection.ExternalSorter;
import org.apache.spark.util.collection.ExternalSorter$;
import scala.Option;
import scala.math.Ordering;

/**
 * The few Spark calls whose signatures differ between the Spark lines this plugin is built for, in the Spark 4.1+
 * (Scala 2.13) form; {@code ../shuffle-manager/src/spark35} has the same methods for Spark 3.5.
 */
final class SparkShims {
  private SparkShims() {}

  /**
   * The reduce side's sorter by key, without aggregator or partitioner, as Spark's own shuffle reader makes it.
   * Spark 4.1 added a sixth constructor parameter (row-based checksums, SPARK-51756); its reader passes the
   * parameter's default, and so does this.
   */
  static <K, C> ExternalSorter<K, C, C> newKeySorter(TaskContext context, Ordering<K> ordering, Serializer serializer) {
    return new ExternalSorter<>(context, Option.empty(), Option.empty(), Option.apply(ordering), serializer,
        ExternalSorter$.MODULE$.$lessinit$greater$default$6());
  }

  /** Spark 4's line, where {@code spark.ssl.rpc.*} exists. */
  static final boolean SPARK_4 = true;

  /** Whether Spark encrypts its RPC and block transfer with TLS ({@code spark.ssl.rpc.enabled}). */
  static boolean sslRpcEnabled(org.apache.spark.SecurityManager securityManager) {
    return securityManager.isSslRpcEnabled();
  }
}
