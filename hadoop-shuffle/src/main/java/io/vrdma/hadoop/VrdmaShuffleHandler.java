package io.vrdma.hadoop;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.mapred.ShuffleHandler;
import org.apache.hadoop.yarn.server.api.ApplicationInitializationContext;
import org.apache.hadoop.yarn.server.api.ApplicationTerminationContext;
import org.apache.hadoop.yarn.server.api.ContainerTerminationContext;

/**
 * The NodeManager auxiliary service, installed under Hadoop's own name in place of the stock one:
 * {@code yarn.nodemanager.aux-services.mapreduce_shuffle.class = io.vrdma.hadoop.VrdmaShuffleHandler}.
 *
 * <p>It is Hadoop's {@link ShuffleHandler}, serving HTTP on {@code mapreduce.shuffle.port} as before (the
 * reducers' fallback, and the port that map completion events carry), and in addition serves the same map
 * outputs over our tiers through a {@link MapOutputPublisher} on {@link VrdmaShuffleConf#PORT}. Taking over
 * the name is what brings it the job token: the MapReduce AM sends the token only to {@code
 * mapreduce_shuffle}; services named in {@code mapreduce.job.shuffle.provider.services} get empty data.
 *
 * <p>With NodeManager recovery on, the NodeManager gives the service a recovery path: Hadoop's half keeps its job
 * tokens there (its {@code mapreduce_shuffle_state}), ours keeps the jobs' namespace secrets next to them
 * ({@link JobSecretStore}), so that after a restart both serve the running jobs' map outputs again.
 *
 * <p>Operators see it in the NodeManager's metrics system as source {@code VrdmaShuffle}
 * ({@link ShuffleServiceMetrics}).
 */
public class VrdmaShuffleHandler extends ShuffleHandler {
  private MapOutputPublisher publisher;
  private ShuffleServiceMetrics vrdmaMetrics;

  @Override
  protected void serviceInit(Configuration conf) throws Exception {
    super.serviceInit(conf);
    org.apache.hadoop.fs.Path recovery = getRecoveryPath();
    publisher = new MapOutputPublisher(conf, recovery == null ? null : new java.io.File(recovery.toUri().getPath()));
    vrdmaMetrics = new ShuffleServiceMetrics(publisher);
    vrdmaMetrics.register();
  }

  @Override
  protected void serviceStop() throws Exception {
    try {
      if (vrdmaMetrics != null) {
        vrdmaMetrics.unregister();
      }
      if (publisher != null) {
        publisher.close();
      }
    } finally {
      super.serviceStop();
    }
  }

  @Override
  public void initializeApplication(ApplicationInitializationContext context) {
    // first: ShuffleHandler reads the service data buffer to its end
    publisher.initializeApplication(context);
    super.initializeApplication(context);
  }

  @Override
  public void stopApplication(ApplicationTerminationContext context) {
    try {
      publisher.stopApplication(context);
    } finally {
      super.stopApplication(context);
    }
  }

  @Override
  public void stopContainer(ContainerTerminationContext context) {
    super.stopContainer(context);
    publisher.stopContainer(context);
  }
}
