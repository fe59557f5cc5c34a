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

  /**
   * Executor → driver: here is my block server, and the executor's {@link ExecutorCountersEndpoint}, which the
   * driver asks for current counters ({@link #COUNTERS_NOW}). Reply: {@code Boolean.TRUE}.
   */
  record Register(PeerAddress address, org.apache.spark.rpc.RpcEndpointRef counters) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** Executor → driver: where is this executor's block server? Reply: {@link #lookupReply}. */
  /**
   * Driver → every executor, one-way: an executor was removed (Spark's {@code onExecutorRemoved}); its block server is
   * gone, so readers fail its blocks at once and leave them to Spark (FetchFailed, stage retry) without retries.
   */
  record PeerGone(String executorId, String host, int port, String reason) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  record Find(String executorId) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /**
   * The answer to {@link Find}, in JDK types only: executors deserialize replies with Spark's own class loader,
   * which on Spark 4 does not see a plugin installed with {@code --jars} (user jars get a child loader). Empty when
   * that executor has no block server, else its id, host, port and tiers.
   */
  static String[] lookupReply(PeerAddress address) {
    return address == null ? new String[0]
        : new String[] {address.executorId(), address.host(), Integer.toString(address.port()), address.tiers()};
  }

  /**
   * Driver → executor's {@link ExecutorCountersEndpoint}: your counters now, please. A JDK string: the executor
   * deserializes requests with Spark's own class loader (see {@link #lookupReply}). Reply: a {@link Report}.
   */
  static final String COUNTERS_NOW = "vrdma-counters-now";

  /** The address in a {@link #lookupReply}, or null for none. */
  static PeerAddress fromLookupReply(String[] reply) {
    return reply.length == 0 ? null : new PeerAddress(reply[0], reply[1], Integer.parseInt(reply[2]), reply[3]);
  }

  /**
   * Executor → driver, one-way ({@code send}, periodically and when the namespaces it serves change), or the reply
   * to {@link #COUNTERS_NOW}: the executor's counters so far and the namespaces its block server serves now (the
   * latest wins). {@code sequence} grows with each report of an executor's runtime: a periodic report and the
   * answer to a query travel on different connections, and the driver keeps the later one whatever arrives last.
   */
  record Report(String executorId, long sequence, Map<String, Long> counters, Set<String> namespaces)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }
}
