package io.vrdma.hadoop;

import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ContainerId;
import org.apache.hadoop.yarn.api.records.Resource;
import org.apache.hadoop.yarn.server.api.ContainerTerminationContext;

/** The NodeManager's events to the service, for tests that drive a publisher without a NodeManager. */
final class ContainerEvents {
  private static int nextContainer = 2;

  private ContainerEvents() {}

  /** What the NodeManager tells its auxiliary services when one of the application's containers has ended. */
  static synchronized ContainerTerminationContext containerEnded(String user, ApplicationId app) {
    ContainerId container = ContainerId.newContainerId(ApplicationAttemptId.newInstance(app, 1), nextContainer++);
    return new ContainerTerminationContext(user, container, Resource.newInstance(512, 1));
  }
}
