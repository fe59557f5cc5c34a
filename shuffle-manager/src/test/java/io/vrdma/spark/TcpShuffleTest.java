package io.vrdma.spark;

import org.apache.spark.SparkConf;

/** The shm tier forced off: remote blocks move over tcp. */
class TcpShuffleTest extends ShuffleSuite {
  @Override
  String expectedTier() {
    return "tcp";
  }

  @Override
  SparkConf configure(SparkConf conf) {
    return conf.set("spark.shuffle.vrdma.transport.tiers", "tcp").set("spark.io.compression.codec", "lzf");
  }
}
