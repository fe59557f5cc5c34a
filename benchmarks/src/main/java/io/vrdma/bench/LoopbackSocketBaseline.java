package io.vrdma.bench;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
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
 * The tcp tier's limit: a raw blocking {@code java.nio} socket over 127.0.0.1, no framework, no framing
 * beyond a 12-byte request (offset, length). A server thread answers each request with the block's bytes
 * sent from the same kind of page-cache-warm source file the tier serves, by {@link FileChannel#transferTo}
 * (sendfile), as the tcp tier does; the client reads them straight into direct buffers.
 *
 * <p>Why sendfile and not a write from a direct buffer: the tier serves file segments with sendfile, which
 * saves the server a copy. A baseline that writes from a buffer pays that copy, and the tier then beats
 * its own "limit" (measured: 1.5-1.8x at 1 and 16 MiB), which says nothing about what the transport costs.
 *
 * <p>Why request/response and not a plain continuous stream: the tcp tier serves one-sided reads, each a
 * request for a block and its response, with {@link Workload#depth} of them in flight. A baseline with
 * the same requests and the same pipelining depth is the same work minus the transport, so the ratio
 * shows what the transport costs. With 16 requests in flight the socket never runs dry, so for blocks of
 * 64 KiB and more this is within a few percent of a continuous stream; for 4 KiB blocks the per-request
 * system calls are part of both sides' cost, as they should be.
 */
@State(Scope.Benchmark)
public class LoopbackSocketBaseline {
  private static final int REQUEST_BYTES = Long.BYTES + Integer.BYTES;

  @Param({"4096", "65536", "1048576", "16777216"})
  public int blockBytes;

  private Path dir;
  private FileChannel source;
  private ServerSocketChannel listener;
  private Thread serverThread;
  private SocketChannel channel;
  private ByteBuffer request;
  private ByteBuffer[] buffers;
  private int depth;
  private int blocks;
  private long latencyIndex;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    dir = Files.createTempDirectory("vrdma-bench-loopback-");
    source = FileChannel.open(Workload.writeSourceFile(dir.resolve("source")), StandardOpenOption.READ);
    listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    serverThread = new Thread(this::serve, "loopback-baseline-server");
    serverThread.setDaemon(true);
    serverThread.start();
    channel = SocketChannel.open(listener.getLocalAddress());
    channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
    request = ByteBuffer.allocateDirect(REQUEST_BYTES);
    depth = Workload.depth(blockBytes);
    blocks = Workload.blocksPerWindow(blockBytes);
    buffers = new ByteBuffer[depth];
    for (int i = 0; i < depth; i++) {
      buffers[i] = ByteBuffer.allocateDirect(blockBytes);
    }
    long probe = Workload.offset(Workload.SOURCE_BYTES / blockBytes - 1, blockBytes);
    send(probe);
    receive(buffers[0]);
    Workload.verify(buffers[0], probe, blockBytes, "loopback socket");
  }

  private void serve() {
    try (SocketChannel peer = listener.accept()) {
      peer.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ByteBuffer in = ByteBuffer.allocateDirect(REQUEST_BYTES);
      while (true) {
        in.clear();
        while (in.hasRemaining()) {
          if (peer.read(in) < 0) {
            return;
          }
        }
        long offset = in.getLong(0);
        int length = in.getInt(Long.BYTES);
        for (long sent = 0; sent < length; ) {
          sent += source.transferTo(offset + sent, length - sent, peer);
        }
      }
    } catch (IOException e) {
      if (listener.isOpen()) {
        System.err.println("loopback baseline server failed: " + e);
      }
    }
  }

  private void send(long offset) throws IOException {
    request.clear();
    request.putLong(0, offset).putInt(Long.BYTES, blockBytes);
    while (request.hasRemaining()) {
      channel.write(request);
    }
  }

  private void receive(ByteBuffer dst) throws IOException {
    dst.clear();
    while (dst.hasRemaining()) {
      if (channel.read(dst) < 0) {
        throw new EOFException("loopback baseline server closed the connection");
      }
    }
  }

  /** Streams one window: requests for {@code blocks} blocks, up to {@code depth} outstanding. */
  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public void streamWindow() {
    try {
      int sent = 0;
      for (; sent < Math.min(depth, blocks); sent++) {
        send(Workload.offset(sent, blockBytes));
      }
      for (int i = 0; i < blocks; i++) {
        receive(buffers[i % depth]);
        if (sent < blocks) {
          send(Workload.offset(sent++, blockBytes));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One request for a block and its whole response. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void requestOne() {
    try {
      send(Workload.offset(latencyIndex++, blockBytes));
      receive(buffers[0]);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException, InterruptedException {
    channel.close();
    listener.close();
    serverThread.join(TimeUnit.SECONDS.toMillis(10));
    source.close();
    BenchNodes.deleteQuietly(dir);
  }
}
