package io.vrdma.spark;

/**
 * A Spark shuffle block name taken apart: {@code shuffle_<shuffleId>_<mapId>_<reduceId>} (the blocks we publish) or
 * {@code shuffle_<shuffleId>_<mapId>_<startReduceId>_<endReduceId>} (Spark's batch of contiguous partitions). Read
 * by hand, not with regular expressions: a reducer's fetch names one block per map output, and with thousands of
 * maps and reducers that is millions of names per stage, on the task threads.
 *
 * @param shuffleId the shuffle
 * @param mapPrefix of a batch, {@code shuffle_<shuffleId>_<mapId>_}: the name of the map output's block r is this plus
 *     r; null for a block (not needed, and not made for each of millions of names)
 * @param start the reduce partition (of a block), or the first of a batch
 * @param end one past the last reduce partition: {@code start + 1} for a block
 * @param batch whether the name was a batch's
 */
record ShuffleBlockName(int shuffleId, String mapPrefix, int start, int end, boolean batch) {
  private static final String PREFIX = "shuffle_";

  /** The parts of {@code id}, or null when it is not a shuffle block or batch name (or a number is too large). */
  static ShuffleBlockName parse(String id) {
    if (!id.startsWith(PREFIX)) {
      return null;
    }
    long[] numbers = new long[4];
    int count = 0;
    int mapEnd = -1;
    int at = PREFIX.length();
    while (true) {
      int from = at;
      long value = 0;
      while (at < id.length() && id.charAt(at) >= '0' && id.charAt(at) <= '9') {
        value = value * 10 + (id.charAt(at) - '0');
        if (at - from >= 18) {
          return null; // beyond a long's digits
        }
        at++;
      }
      if (at == from || count == numbers.length) {
        return null;
      }
      numbers[count++] = value;
      if (count == 2) {
        mapEnd = at;
      }
      if (at == id.length()) {
        break;
      }
      if (id.charAt(at) != '_') {
        return null;
      }
      at++;
    }
    if (count < 3 || numbers[0] > Integer.MAX_VALUE || numbers[2] > Integer.MAX_VALUE
        || (count == 4 && numbers[3] > Integer.MAX_VALUE)) {
      return null;
    }
    int start = (int) numbers[2];
    return count == 3
        ? new ShuffleBlockName((int) numbers[0], null, start, start + 1, false)
        : new ShuffleBlockName((int) numbers[0], id.substring(0, mapEnd + 1), start, (int) numbers[3], true);
  }
}
