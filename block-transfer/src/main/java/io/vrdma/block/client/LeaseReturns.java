package io.vrdma.block.client;

import io.vrdma.block.protocol.Messages;
import io.vrdma.transport.Connection;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives staged blocks back to the servers that lent them, so that their windows reuse the space. Returns are
 * gathered per connection and sent as one RELEASE per connection by the client's own thread, whoever
 * released the block (a Spark task thread, a transport event loop). A lease on a connection that has closed is
 * dropped: the server took it back when the connection went.
 */
final class LeaseReturns {
  private static final Logger LOG = LoggerFactory.getLogger(LeaseReturns.class);
  /** Leases per RELEASE message, well below any frame limit. */
  private static final int MAX_PER_MESSAGE = 4096;

  private final Executor executor;
  private final Map<Connection, Queue<Long>> pending = new ConcurrentHashMap<>();
  private final AtomicBoolean scheduled = new AtomicBoolean();

  LeaseReturns(Executor executor) {
    this.executor = executor;
  }

  /** Gives {@code lease} back to the server behind {@code connection}; lease 0 (nothing staged) is ignored. */
  void giveBack(Connection connection, long lease) {
    if (lease == 0 || connection == null || !connection.isActive()) {
      return;
    }
    pending.computeIfAbsent(connection, c -> new ConcurrentLinkedQueue<>()).add(lease);
    if (scheduled.compareAndSet(false, true)) {
      try {
        executor.execute(this::flush);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        scheduled.set(false); // the client is closing: its connections, and the leases with them, go
      }
    }
  }

  private void flush() {
    scheduled.set(false);
    for (Map.Entry<Connection, Queue<Long>> e : pending.entrySet()) {
      Connection connection = e.getKey();
      Queue<Long> queue = e.getValue();
      if (!connection.isActive()) {
        pending.remove(connection);
        continue;
      }
      while (!queue.isEmpty()) {
        long[] ids = new long[Math.min(MAX_PER_MESSAGE, queue.size())];
        int n = 0;
        Long id;
        while (n < ids.length && (id = queue.poll()) != null) {
          ids[n++] = id;
        }
        if (n == 0) {
          break;
        }
        long[] batch = n == ids.length ? ids : java.util.Arrays.copyOf(ids, n);
        connection.request(Messages.release(batch)).exceptionally(failure -> {
          LOG.debug("could not give back {} leases to {}: {}", batch.length, connection.peer(), failure.toString());
          return null;
        });
      }
    }
  }
}
