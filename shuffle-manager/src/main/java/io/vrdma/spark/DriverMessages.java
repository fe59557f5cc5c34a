package io.vrdma.spark;

import java.io.Serializable;
import java.util.Map;
import java.util.Set;

/** What executors and the driver's {@link VrdmaDriverEndpoint} tell each other over Spark's RPC. */
final class DriverMessages {
  private DriverMessages() {}

  /** An executor's block server: the transport's control address and the tiers it has. */
  record PeerAddress(String executorId, String host, int port, String tiers) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** Executor → driver: here is my block server. Reply: {@code Boolean.TRUE}. */
  record Register(PeerAddress address) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** Executor → driver: where is this executor's block server? Reply: a {@link Lookup}. */
  record Find(String executorId) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** The answer to {@link Find}: {@code address} is null when that executor has no block server. */
  record Lookup(PeerAddress address) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /**
   * Executor → driver: the executor's counters so far and the namespaces its block server serves now (latest
   * wins). Reply: {@code Boolean.TRUE}.
   */
  record Report(String executorId, Map<String, Long> counters, Set<String> namespaces) implements Serializable {
    private static final long serialVersionUID = 1L;
  }
}
