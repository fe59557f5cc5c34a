package io.vrdma.block.client;

import io.vrdma.block.BlockConf;
import io.vrdma.transport.TransportNode;

/** What the pieces of one {@link BlockClient} share: its node, configuration, threads, limits and counters. */
record ClientContext(TransportNode node, BlockConf conf, ClientThreads threads, FlowControl flow,
    LeaseReturns leases, SpillFiles spills, BlockClientMetrics metrics, boolean inPlace) {

  /** The largest run of several blocks read with one read: the configured size, at most one pooled buffer. */
  int maxRunBytes() {
    return (int) Math.min(conf.get(BlockConf.CLIENT_MAX_RUN_BYTES), node.bufferPool().maxBufferBytes());
  }

  /** The largest run taken inline, in the locate answer itself. */
  int maxInlineBytes() {
    return (int) (long) conf.get(BlockConf.CLIENT_INLINE_BYTES);
  }

  /** Wait before retry number {@code attempt} (1, 2, ...): the configured wait, doubled each time. */
  long backoff(int attempt) {
    return conf.get(BlockConf.RETRY_WAIT) << Math.min(attempt - 1, 16);
  }

  /** How long to wait before asking the buffer pool again when it is exhausted. */
  static final long POOL_WAIT_MILLIS = 2;
}
