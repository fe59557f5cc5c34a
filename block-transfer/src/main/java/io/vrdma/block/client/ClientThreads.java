package io.vrdma.block.client;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The block client's threads, one duty each. The transport's threads (tcp event loops, the verbs completion
 * thread) only move bytes: every read completion and locate answer is handed from them to {@link #work}.
 *
 * <ul>
 *   <li>{@link #work} ({@code vrdma-block-client-N}, a fixed pool of {@code client.threads}): handles locate
 *       answers, verifies checksums, cuts runs into blocks, writes spill files, delivers blocks and failures to the
 *       listener (which may call the engine's own client for a fallback) and starts the reads flow control lets go.
 *   <li>{@link #connects} ({@code vrdma-block-connect-N}, one thread at a time per peer, idle threads end after 30
 *       s): connects, handshakes and proves namespace secrets, which wait on the network. A peer that does not
 *       answer holds only its own thread, so it delays only its own blocks.
 *   <li>{@link #timer} ({@code vrdma-block-client-timer}): only schedules — retry backoffs, waits for a pooled
 *       buffer — and hands each due task to {@link #work}.
 * </ul>
 */
final class ClientThreads implements AutoCloseable {
  final ExecutorService work;
  final ExecutorService connects;
  final ScheduledExecutorService timer;

  ClientThreads(int workThreads) {
    this.work = Executors.newFixedThreadPool(Math.max(1, workThreads), named("vrdma-block-client-"));
    this.connects = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
        named("vrdma-block-connect-"));
    this.timer = Executors.newSingleThreadScheduledExecutor(named("vrdma-block-client-timer"));
  }

  /** Runs {@code task} on {@link #work} after {@code millis}. */
  void later(long millis, Runnable task) {
    try {
      timer.schedule(() -> execute(task), millis, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // the client is closing: what it was going to retry fails with its connections
    }
  }

  /** Runs {@code task} on {@link #work}; dropped once the client is closed. */
  void execute(Runnable task) {
    try {
      work.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // the client is closing
    }
  }

  private static java.util.concurrent.ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix.endsWith("-") ? prefix + n.incrementAndGet() : prefix);
      t.setDaemon(true);
      return t;
    };
  }

  @Override
  public void close() {
    timer.shutdownNow();
    connects.shutdownNow();
    work.shutdownNow();
  }
}
