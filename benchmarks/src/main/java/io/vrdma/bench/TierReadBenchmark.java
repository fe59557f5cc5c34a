package io.vrdma.bench;

import io.vrdma.transport.Connection;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Registration;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.tier.TierAvailability;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One-sided reads through the transport on one forced tier: a server node registers a file segment of
 * {@link Workload#SOURCE_BYTES} (page cache warm), a client node in the same JVM connects over 127.0.0.1
 * and reads it. See {@link Workload} for the window, block and depth of the operations.
 */
@State(Scope.Benchmark)
public class TierReadBenchmark {
  /** The tier forced on both nodes, by its configuration name. */
  @Param({"shm", "tcp"})
  public String tier;

  /** Bytes of one read. */
  @Param({"4096", "65536", "1048576", "16777216"})
  public int blockBytes;

  private Path dir;
  private Path arena;
  private TransportNode server;
  private TransportNode client;
  private Registration registration;
  private Connection connection;
  private RegionDescriptor region;
  private PooledBuffer[] buffers;
  private CompletableFuture<?>[] inFlight;
  private int depth;
  private int blocks;
  private long latencyIndex;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    Tier t = Tier.fromName(tier);
    try {
      dir = Files.createTempDirectory("vrdma-bench-");
      Path file = Workload.writeSourceFile(dir.resolve("source"));
      arena = BenchNodes.newArenaPath(dir);
      server = TransportNode.start(BenchNodes.conf(t, arena));
      if (!server.has(t)) {
        throw new IllegalStateException(t.configName() + " unavailable: " + reason(server, t));
      }
      client = TransportNode.start(BenchNodes.conf(t, arena));
      registration = server.register(RegionSource.fileSegment(file, 0, Workload.SOURCE_BYTES), EnumSet.of(t));
      region = registration.descriptor(t).orElseThrow(
          () -> new IllegalStateException("the source region was not registered on " + t.configName()));
      connection = client.connect(server.advertisement());
      if (connection.tier() != t) {
        throw new IllegalStateException("forced tier " + t.configName() + " but the connection chose "
            + connection.tier().configName());
      }
      depth = Workload.depth(blockBytes);
      blocks = Workload.blocksPerWindow(blockBytes);
      buffers = new PooledBuffer[depth];
      inFlight = new CompletableFuture<?>[depth];
      for (int i = 0; i < depth; i++) {
        buffers[i] = client.bufferPool().acquire(blockBytes);
      }
      // a benchmark of reads that bring the wrong bytes would measure nothing
      long probe = Workload.offset(Workload.SOURCE_BYTES / blockBytes - 1, blockBytes);
      connection.read(region, probe, blockBytes, buffers[0], 0).get(30, TimeUnit.SECONDS);
      Workload.verify(buffers[0].nioBuffer(), probe, blockBytes, t.configName() + " read");
    } catch (Exception | Error e) {
      tearDown();
      throw e;
    }
  }

  private static String reason(TransportNode node, Tier t) {
    return node.availability().stream().filter(a -> a.tier() == t).map(TierAvailability::detail).findFirst()
        .orElse("not probed");
  }

  /** Streams one window: {@code blocks} reads of {@code blockBytes}, up to {@code depth} in flight. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public void readWindow() {
    for (int i = 0; i < blocks; i++) {
      int slot = i % depth;
      CompletableFuture<?> previous = inFlight[slot];
      if (previous != null) {
        previous.join();
      }
      inFlight[slot] = connection.read(region, Workload.offset(i, blockBytes), blockBytes, buffers[slot], 0);
    }
    drain();
  }

  /** One read of {@code blockBytes}, waited for. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void readOne() {
    connection.read(region, Workload.offset(latencyIndex++, blockBytes), blockBytes, buffers[0], 0).join();
  }

  private void drain() {
    for (int s = 0; s < depth; s++) {
      CompletableFuture<?> f = inFlight[s];
      if (f != null) {
        inFlight[s] = null;
        f.join();
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (inFlight != null) {
      try {
        drain();
      } catch (RuntimeException e) {
        System.err.println("a read failed at tear-down: " + e);
      }
    }
    if (buffers != null) {
      for (PooledBuffer b : buffers) {
        if (b != null) {
          b.release();
        }
      }
      buffers = null;
    }
    if (connection != null) {
      connection.close();
    }
    if (registration != null) {
      registration.close();
    }
    if (client != null) {
      String leaks = client.bufferPool().leakReport();
      if (!leaks.isEmpty()) {
        System.err.println("client leaked pooled buffers: " + leaks);
      }
      client.close();
    }
    if (server != null) {
      server.close();
    }
    BenchNodes.deleteQuietly(arena);
    BenchNodes.deleteQuietly(dir);
    connection = null;
    registration = null;
    client = null;
    server = null;
  }
}
