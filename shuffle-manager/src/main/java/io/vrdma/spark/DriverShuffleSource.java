package io.vrdma.spark;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import org.apache.spark.metrics.source.Source;

/**
 * The driver's view in Spark's metrics system: each of {@link ShuffleCounters} summed over the application's
 * executors as of their latest reports (gauge {@code vrdmaShuffleTotals.<counter>}), and the number of executors
 * whose block server registered ({@code vrdmaShuffleTotals.executors}). Reading a gauge never asks an executor:
 * the totals are as fresh as the executors' periodic reports ({@code spark.shuffle.vrdma.reportInterval}).
 */
final class DriverShuffleSource implements Source {
  /** The source's name: metrics are {@code <app id>.driver.vrdmaShuffleTotals.<metric>}. */
  static final String NAME = "vrdmaShuffleTotals";

  private final MetricRegistry registry = new MetricRegistry();

  DriverShuffleSource(VrdmaDriverEndpoint endpoint) {
    for (String name : ShuffleCounters.names()) {
      registry.register(name, (Gauge<Long>) () -> endpoint.reportedTotal(name));
    }
    registry.register("executors", (Gauge<Integer>) () -> endpoint.executors().size());
  }

  @Override
  public String sourceName() {
    return NAME;
  }

  @Override
  public MetricRegistry metricRegistry() {
    return registry;
  }
}
