package io.vrdma.spark;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.vrdma.transport.Tier;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.metrics.source.Source;

/**
 * An executor's vRDMA shuffle metrics in Spark's metrics system (every configured sink: JMX, CSV, Prometheus...):
 * each of {@link ShuffleCounters} as a gauge {@code vrdmaShuffle.<counter>}, and per tier a timer
 * {@code vrdmaShuffle.readLatency.<tier>} of the time from a reduce task asking for a block to the block's
 * arrival over that tier.
 */
final class ExecutorShuffleSource implements Source {
  /** The source's name: metrics are {@code <app id>.<executor id>.vrdmaShuffle.<metric>}. */
  static final String NAME = "vrdmaShuffle";

  private final MetricRegistry registry = new MetricRegistry();
  private final Map<Tier, Timer> readLatency = new EnumMap<>(Tier.class);

  ExecutorShuffleSource(ShuffleCounters counters) {
    counters.suppliers().forEach((name, value) -> registry.register(name, (Gauge<Long>) value::getAsLong));
    for (Tier tier : Tier.values()) {
      readLatency.put(tier, registry.timer("readLatency." + ShuffleCounters.tierName(tier)));
    }
  }

  /** Records one block that arrived over {@code tier}, {@code nanos} after the reduce task asked for it. */
  void blockRead(Tier tier, long nanos) {
    readLatency.get(tier).update(nanos, TimeUnit.NANOSECONDS);
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
