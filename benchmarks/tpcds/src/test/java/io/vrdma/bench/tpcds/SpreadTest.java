package io.vrdma.bench.tpcds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The spread of rounds and the verdict both reports print from it. */
class SpreadTest {
  @Test
  void medianMinMaxOfOddAndEvenCounts() {
    assertEquals(new Spread(2.0, 1.0, 9.0, 3), Spread.of(9.0, 1.0, 2.0));
    assertEquals(new Spread(2.5, 1.0, 9.0, 4), Spread.of(9.0, 1.0, 2.0, 3.0));
    assertEquals("2.50 [1.00–9.00]", Spread.of(9.0, 1.0, 2.0, 3.0).text());
    assertThrows(IllegalArgumentException.class, Spread::of);
  }

  @Test
  void metOnlyWhenOursSlowestIsWithinTheLimitOfTheReferencesFastest() {
    Spread stock = Spread.of(10.0, 11.0, 12.0);
    // slowest 10.5 <= 1.05 x fastest 10.0
    assertEquals(Spread.MET, Spread.verdict(Spread.of(9.0, 10.0, 10.5), stock, 1.05));
    // slowest 10.6 > 10.5: one pairing of rounds fails the target
    assertEquals(Spread.UNDECIDED, Spread.verdict(Spread.of(9.0, 10.0, 10.6), stock, 1.05));
  }

  @Test
  void missedOnlyWhenOursFastestIsBeyondTheLimitOfTheReferencesSlowest() {
    Spread stock = Spread.of(10.0, 11.0, 12.0);
    // fastest 12.7 > 1.05 x slowest 12.0 = 12.6
    assertEquals(Spread.MISSED, Spread.verdict(Spread.of(12.7, 13.0, 20.0), stock, 1.05));
    // fastest exactly at the limit is not beyond it
    assertEquals(Spread.UNDECIDED, Spread.verdict(Spread.of(12.6, 13.0, 20.0), stock, 1.05));
    // a median far above the limit does not decide while the fastest round is within it
    assertEquals(Spread.UNDECIDED, Spread.verdict(Spread.of(10.0, 30.0, 30.0), stock, 1.05));
  }

  @Test
  void aSingleRoundOnEitherSideDecidesNothing() {
    assertEquals(Spread.ONE_ROUND, Spread.verdict(Spread.of(1.0), Spread.of(10.0, 11.0), 0.9));
    assertEquals(Spread.ONE_ROUND, Spread.verdict(Spread.of(1.0, 1.1), Spread.of(10.0), 0.9));
  }
}
