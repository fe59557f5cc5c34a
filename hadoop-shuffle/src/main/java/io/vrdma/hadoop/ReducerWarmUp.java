package io.vrdma.hadoop;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockSegment;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockClientMetrics;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import java.io.IOException;
import java.lang.instrument.Instrumentation;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs our reducer's first fetch once, against itself, while a task JVM starts — so that the reduce task's own
 * shuffle later finds the transport's and the block client's classes loaded and their first runs done.
 *
 * <p>Why: a reduce task's JVM runs its shuffle plugin about two seconds after it starts (YARN's task start-up:
 * the umbilical, the job's configuration, the task's set-up), and our plugin's first map output then costs a few
 * hundred milliseconds of class loading and first-time execution (Netty, the protocol, the shm reader, the
 * handshake's HMAC) that Hadoop's HTTP fetcher, whose classes are in the JDK's own archive, does not pay
 * (ReducerStartBenchmark). Loaded as a Java agent ({@code -javaagent:vrdma-hadoop-shuffle-plugin.jar} in {@code
 * mapreduce.reduce.java.opts}), this class does that work on a daemon thread of its own ({@code vrdma-warm-up})
 * during those seconds, off the task's path.
 *
 * <p>What it runs: a serving node and a client-only node in this JVM, on loopback and a small temporary arena in
 * {@code java.io.tmpdir} (a YARN container's own tmp directory), one fetch of a block small enough to come inline
 * and one that goes through the arena, then everything closed and deleted. It never fails the JVM: whatever goes
 * wrong is one log line, and the task's shuffle starts its client as it would without it.
 */
public final class ReducerWarmUp {
  static final String THREAD_NAME = "vrdma-warm-up";
  private static final String NAMESPACE = "vrdma-warm-up";
  private static final byte[] SECRET = "vrdma-warm-up".getBytes(StandardCharsets.UTF_8);
  /** A block the server answers inline, and one it stages through the arena (above the inline limit). */
  private static final int SMALL_BYTES = 24;
  private static final int LARGE_BYTES = 256 * 1024;
  private static final long FETCH_TIMEOUT_SECONDS = 30;
  private static volatile Thread running;
  private static volatile String outcome = "not started";

  private ReducerWarmUp() {}

  /**
   * The agent's entry: starts the warm-up thread and returns at once.
   *
   * @param args the agent's arguments (none are read)
   * @param instrumentation not used: nothing is instrumented
   */
  public static void premain(String args, Instrumentation instrumentation) {
    start();
  }

  /**
   * What the warm-up of this JVM came to, for a test or an operator's probe.
   *
   * @return {@code not started}, {@code running}, {@code done in <ms> ms} or {@code not done: <why>}
   */
  public static String outcome() {
    return outcome;
  }

  /** Starts the warm-up on its daemon thread, once per JVM. */
  static synchronized Thread start() {
    if (running == null) {
      outcome = "running";
      Thread t = new Thread(ReducerWarmUp::runQuietly, THREAD_NAME);
      t.setDaemon(true);
      t.start();
      running = t;
    }
    return running;
  }

  private static void runQuietly() {
    runQuietly(Path.of(System.getProperty("java.io.tmpdir")));
  }

  /** Runs the warm-up in {@code tmp}, logging its outcome in one line instead of throwing. */
  static void runQuietly(Path tmp) {
    long began = System.nanoTime();
    // the logger is made here, not in a static field: premain runs on the JVM's main thread before the task's
    // main(), and the first logger starts the logging system (a few hundred milliseconds)
    Logger log = LoggerFactory.getLogger(ReducerWarmUp.class);
    try {
      run(tmp);
      outcome = "done in " + (System.nanoTime() - began) / 1_000_000 + " ms";
      log.info("vRDMA shuffle warm-up {}: the reducer's client will start warm", outcome);
    } catch (Exception | LinkageError e) {
      outcome = "not done: " + e;
      log.info("vRDMA shuffle warm-up not done ({}); the reducer's client starts cold", e.toString());
    }
  }

  /**
   * One fetch of each kind between two nodes of this JVM, in {@code tmp}; everything made is closed and deleted.
   *
   * @return the reading client's counters
   */
  static BlockClientMetrics run(Path tmp) throws Exception {
    Path dir = Files.createTempDirectory(tmp, "vrdma-warm-up");
    Path arena = dir.resolve("arena");
    Path data = dir.resolve("blocks");
    try {
      byte[] bytes = new byte[SMALL_BYTES + LARGE_BYTES];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = (byte) i;
      }
      Files.write(data, bytes);
      Map<String, String> settings = new HashMap<>();
      settings.put(TransportConf.HOST.name(), "127.0.0.1");
      settings.put(TransportConf.SHM_ARENA_PATH.name(), arena.toString());
      settings.put(TransportConf.SHM_ARENA_BYTES.name(), "4m");
      settings.put(TransportConf.SHM_PREALLOCATE.name(), "false");
      TransportConf conf = TransportConf.fromMap(settings);
      try (TransportNode serving = TransportNode.start(conf);
          BlockServer server = new BlockServer(serving, BlockConf.defaults(), true);
          TransportNode reading = TransportNode.startClient(conf);
          BlockClient client = new BlockClient(reading, BlockConf.defaults())) {
        server.createNamespace(NAMESPACE, SECRET);
        server.publish(NAMESPACE, data, List.of(new BlockSegment("small", 0, SMALL_BYTES),
            new BlockSegment("large", SMALL_BYTES, LARGE_BYTES)));
        for (String id : List.of("small", "large")) { // one fetch each: a locate answered inline, then a read
          fetch(client, serving.advertisement().port(), id, id.equals("small") ? SMALL_BYTES : LARGE_BYTES);
        }
        return client.metrics();
      }
    } finally {
      Files.deleteIfExists(data);
      Files.deleteIfExists(arena);
      Files.deleteIfExists(dir);
    }
  }

  private static void fetch(BlockClient client, int port, String id, int length) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    AtomicReference<Object> result = new AtomicReference<>();
    client.fetch("127.0.0.1", port, NAMESPACE, SECRET, List.of(id), new BlockFetchListener() {
      @Override
      public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
        try (block) {
          ByteBuffer copy = ByteBuffer.allocate((int) block.size()).put(block.nioByteBuffer());
          result.set(copy.position());
        } catch (IOException | RuntimeException e) {
          result.set(e);
        }
        done.countDown();
      }

      @Override
      public void onBlockFetchFailure(String blockId, Throwable cause) {
        result.set(cause);
        done.countDown();
      }
    });
    if (!done.await(FETCH_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      throw new IOException("block " + id + " not fetched within " + FETCH_TIMEOUT_SECONDS + " s");
    }
    if (result.get() instanceof Throwable t) {
      throw new IOException("block " + id + " failed: " + t, t);
    }
    if (!Integer.valueOf(length).equals(result.get())) {
      throw new IOException("block " + id + " came with " + result.get() + " bytes, not " + length);
    }
  }
}
