package io.vrdma.spark;

import org.apache.spark.SparkConf;

/** The executors share a /dev/shm arena: remote blocks move over the shm tier. */
class ShmShuffleTest extends ShuffleSuite {
  @Override
  String expectedTier() {
    return "shm";
  }

  @Override
  SparkConf configure(SparkConf conf) {
    return conf.set("spark.shuffle.vrdma.transport.tiers", "shm,tcp");
  }
}
