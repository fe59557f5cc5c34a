package io.vrdma.hadoop;

import io.vrdma.block.server.BlockServer;
import io.vrdma.block.server.ServingMetrics;
import io.vrdma.block.server.StagingMetrics;
import io.vrdma.transport.Tier;
import java.util.Locale;
import org.apache.hadoop.metrics2.MetricsCollector;
import org.apache.hadoop.metrics2.MetricsException;
import org.apache.hadoop.metrics2.MetricsRecordBuilder;
import org.apache.hadoop.metrics2.MetricsSource;
import org.apache.hadoop.metrics2.lib.DefaultMetricsSystem;
import org.apache.hadoop.metrics2.lib.Interns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NodeManager's view of our shuffle service, as a Hadoop metrics2 source named {@value #NAME} in the
 * NodeManager's metrics system: over JMX as {@code Hadoop:service=NodeManager,name=VrdmaShuffle}, and in any sink the
 * NodeManager's {@code hadoop-metrics2.properties} configures. Counters since the service started: map outputs
 * published, blocks and bytes located for reading per tier, requests for namespaces not served, connections refused,
 * blocks staged and staging-window fallbacks; gauges: running jobs (namespaces) and staged bytes readers hold.
 */
final class ShuffleServiceMetrics implements MetricsSource {
  private static final Logger LOG = LoggerFactory.getLogger(ShuffleServiceMetrics.class);
  /** The source's name (the JMX bean's {@code name=}). */
  static final String NAME = "VrdmaShuffle";

  private final MapOutputPublisher publisher;
  private String registeredAs;

  ShuffleServiceMetrics(MapOutputPublisher publisher) {
    this.publisher = publisher;
  }

  /**
   * Registers this source with the JVM's metrics system (the NodeManager's). A second service in the same JVM (a
   * mini cluster's several NodeManagers) registers under the name with its port appended.
   */
  void register() {
    String name = DefaultMetricsSystem.instance().getSource(NAME) == null ? NAME : NAME + "-" + publisher.port();
    try {
      DefaultMetricsSystem.instance().register(name, "vRDMA shuffle service on port " + publisher.port(), this);
    } catch (MetricsException e) {
      LOG.warn("vRDMA shuffle metrics not registered with the NodeManager's metrics system: {}", e.getMessage());
      return;
    }
    registeredAs = name;
    LOG.info("vRDMA shuffle metrics registered as metrics2 source {}", name);
  }

  /** Removes this source from the metrics system (the service stops). */
  void unregister() {
    if (registeredAs != null) {
      DefaultMetricsSystem.instance().unregisterSource(registeredAs);
      registeredAs = null;
    }
  }

  @Override
  public void getMetrics(MetricsCollector collector, boolean all) {
    BlockServer server = publisher.server();
    ServingMetrics serving = server.servingMetrics();
    StagingMetrics staging = server.stagingMetrics();
    MetricsRecordBuilder record = collector.addRecord(NAME).setContext("vrdmaShuffle")
        .addGauge(Interns.info("RunningJobs", "jobs whose map outputs are served (one namespace each)"),
            publisher.runningJobs())
        .addCounter(Interns.info("PublishedOutputs", "map outputs published since the service started"),
            publisher.publishedOutputs());
    for (Tier tier : Tier.values()) {
      String t = tier.name().charAt(0) + tier.name().substring(1).toLowerCase(Locale.ROOT);
      record.addCounter(Interns.info("ServedBlocks" + t, "blocks located for reading over " + tier),
              serving.blocks(tier))
          .addCounter(Interns.info("ServedBytes" + t, "bytes located for reading over " + tier), serving.bytes(tier));
    }
    record.addCounter(Interns.info("UnknownNamespaceRequests", "requests for a namespace not served here (refused)"),
            serving.unknownNamespaceRequests())
        .addCounter(Interns.info("RefusedConnections", "connections closed for a bad or unauthenticated request"),
            serving.refusedConnections())
        .addCounter(Interns.info("StagedBlocks", "blocks staged in the window (shm, verbs)"), staging.stagedBlocks())
        .addCounter(Interns.info("StagedBytes", "bytes staged in the window"), staging.stagedBytes())
        .addCounter(Interns.info("WindowFallbackBlocks", "blocks sent to tcp because the window stayed full"),
            staging.windowFallbackBlocks())
        .addGauge(Interns.info("StagedBytesHeld", "staged bytes readers hold now"), server.bytesHeld());
  }
}
