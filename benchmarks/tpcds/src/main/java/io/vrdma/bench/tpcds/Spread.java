package io.vrdma.bench.tpcds;

import java.util.Arrays;
import java.util.Locale;

/**
 * The timed rounds of one measurement (one query, or a total, of one variant) as median, min, max and their count,
 * and the verdict on a target "ours &lt;= limit x reference" that these rounds support. Shared by the TPC-DS report
 * and the separate-hosts report so that both decide the same way.
 *
 * @param median the median of the rounds (the mean of the middle two for an even count)
 * @param min the fastest round
 * @param max the slowest round
 * @param rounds how many rounds
 */
record Spread(double median, double min, double max, int rounds) {
  /** The verdict when the target holds in every pairing of rounds. */
  static final String MET = "met";
  /** The verdict when the target fails in every pairing of rounds. */
  static final String MISSED = "MISSED";
  /** The verdict when the rounds overlap the limit: more rounds (or a quieter machine) would tell. */
  static final String UNDECIDED = "undecided (spread)";
  /** The verdict when a side has a single round: one round shows no spread, so it decides nothing. */
  static final String ONE_ROUND = "undecided (1 round: no spread)";

  /** The spread of {@code xs}; throws when empty (a measurement without rounds has no spread). */
  static Spread of(double... xs) {
    if (xs.length == 0) {
      throw new IllegalArgumentException("no rounds");
    }
    double[] s = xs.clone();
    Arrays.sort(s);
    int n = s.length;
    double median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    return new Spread(median, s[0], s[n - 1], n);
  }

  /**
   * A verdict on "ours &lt;= limit x reference" that the rounds support: {@link #MET} when even ours' slowest round
   * is within the limit of the reference's fastest, {@link #MISSED} when even ours' fastest is beyond the limit of
   * the reference's slowest, otherwise {@link #UNDECIDED}; {@link #ONE_ROUND} when either side has only one round,
   * since a single round says nothing about the noise.
   */
  static String verdict(Spread ours, Spread reference, double limit) {
    if (ours.rounds() < 2 || reference.rounds() < 2) {
      return ONE_ROUND;
    }
    if (ours.max() <= limit * reference.min()) {
      return MET;
    }
    if (ours.min() > limit * reference.max()) {
      return MISSED;
    }
    return UNDECIDED;
  }

  /** {@code median [min–max]} with two decimals, as both reports print it. */
  String text() {
    return String.format(Locale.ROOT, "%.2f [%.2f–%.2f]", median, min, max);
  }

}
