package io.vrdma.bench;

import java.nio.ByteBuffer;
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

/**
 * The shm tier's limit: a bulk copy from one direct buffer to another, which is what a read from a
 * mapped arena is at best. Same source size, window, blocks and destination buffers as the tier's.
 */
@State(Scope.Benchmark)
public class MemcpyBaseline {
  @Param({"4096", "65536", "1048576", "16777216"})
  public int blockBytes;

  private ByteBuffer source;
  private ByteBuffer[] buffers;
  private int depth;
  private int blocks;
  private long latencyIndex;

  @Setup(Level.Trial)
  public void setUp() {
    source = Workload.sourceBuffer();
    depth = Workload.depth(blockBytes);
    blocks = Workload.blocksPerWindow(blockBytes);
    buffers = new ByteBuffer[depth];
    for (int i = 0; i < depth; i++) {
      buffers[i] = ByteBuffer.allocateDirect(blockBytes);
    }
    long probe = Workload.offset(Workload.SOURCE_BYTES / blockBytes - 1, blockBytes);
    buffers[0].put(0, source, (int) probe, blockBytes);
    Workload.verify(buffers[0], probe, blockBytes, "memcpy");
  }

  /** Copies one window in blocks, cycling through the destination buffers. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public ByteBuffer copyWindow() {
    ByteBuffer last = null;
    for (int i = 0; i < blocks; i++) {
      last = buffers[i % depth].put(0, source, (int) Workload.offset(i, blockBytes), blockBytes);
    }
    return last;
  }

  /** Copies one block. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public ByteBuffer copyOne() {
    return buffers[0].put(0, source, (int) Workload.offset(latencyIndex++, blockBytes), blockBytes);
  }
}
