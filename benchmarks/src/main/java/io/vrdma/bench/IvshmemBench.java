package io.vrdma.bench;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockSegment;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.Connection;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Registration;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException.NoCommonTierException;
import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.TransportException.RemoteException;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.config.TransportConf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The IVSHMEM bench: two processes in two VMs that share one {@code ivshmem-plain} device, each mapping
 * the device's BAR as the shm arena, talking over the VMs' network only for control messages.
 *
 * <ul>
 *   <li>{@code serve}: registers {@link Workload#SOURCE_BYTES} of source bytes in the arena for raw
 *       reads (node on {@code port + 1}, which answers the descriptor), and publishes the same file as
 *       {@value #BLOCKS} blocks of 1 MiB through a {@link BlockServer} (node on {@code port}); serves
 *       until the reader says it is done.
 *   <li>{@code read}: in its own VM, reads the region through the shm tier window by window and, in the
 *       same rounds, copies the same bytes from a direct buffer to the same destinations (memcpy, the
 *       tier's bound); then fetches every block with a {@link BlockClient}; checks every byte; prints
 *       GB/s, the ratio of the two against {@link #TARGET_RATIO}, and {@code PASS} or {@code FAIL}
 *       (every byte right, every block over shm), and exits 0 or 1.
 * </ul>
 *
 * <p>Arguments are {@code key=value}: {@code arena=} (the BAR, e.g.
 * {@code /sys/bus/pci/devices/0000:00:04.0/resource2}), {@code host=} (this VM's address),
 * {@code port=} (the server's block port, default 7400), for {@code read} also {@code server=} (the
 * server VM's address), {@code rounds=} (timed rounds per block size, default 7) and {@code sizes=}
 * (block sizes, default 65536,1048576,16777216). Run by {@code benchmarks/vm/ivshmem-bench.sh}.
 */
public final class IvshmemBench {
  static final int BLOCKS = 32;
  static final int BLOCK_BYTES = 1 << 20;
  static final String NAMESPACE = "ivshmem-bench";
  /**
   * The shm tier's target, as in the transport benchmark: at least this fraction of memcpy for blocks of
   * {@link #TARGET_FROM_BYTES} and more. Reported, not enforced: under software emulation on a shared
   * machine a timing is too noisy to fail a build on; PASS/FAIL is about the bytes.
   */
  static final double TARGET_RATIO = 0.8;
  static final int TARGET_FROM_BYTES = 1 << 20;
  private static final String ASK_REGION = "region";
  private static final String DONE = "done";

  private IvshmemBench() {}

  /** {@code serve} or {@code read}, then {@code key=value} arguments (see the class comment); exits 0 on PASS. */
  public static void main(String[] args) throws Exception {
    if (args.length < 1 || !(args[0].equals("serve") || args[0].equals("read"))) {
      System.err.println("usage: IvshmemBench serve|read arena=<BAR or file> host=<this VM's address>"
          + " [port=7400] [server=<address>] [rounds=7] [sizes=65536,1048576,16777216]");
      System.exit(2);
    }
    Map<String, String> a = new HashMap<>();
    for (String arg : Arrays.copyOfRange(args, 1, args.length)) {
      int eq = arg.indexOf('=');
      if (eq <= 0) {
        System.err.println("IvshmemBench: expected key=value, got '" + arg + "'");
        System.exit(2);
      }
      a.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    int status = args[0].equals("serve") ? serve(a) : read(a);
    System.exit(status);
  }

  /** Node settings: the shm tier alone, on the BAR, so that a read on any other path cannot pass. */
  static TransportConf conf(Map<String, String> a, int port) {
    Map<String, String> s = new HashMap<>();
    s.put(TransportConf.HOST.name(), require(a, "host"));
    s.put(TransportConf.PORT.name(), Integer.toString(port));
    s.put(TransportConf.TIERS.name(), Tier.SHM.configName());
    s.put(TransportConf.SHM_ARENA_PATH.name(), require(a, "arena"));
    s.put(TransportConf.POOL_MAX_BUFFER.name(), Integer.toString(Workload.MAX_BLOCK_BYTES));
    s.put(TransportConf.POOL_MAX_BYTES.name(), "512m");
    // guests under software emulation stall for seconds at a time; do not take them for dead
    s.put(TransportConf.SHM_LIVENESS_TIMEOUT.name(), "60s");
    s.put(TransportConf.CONNECT_TIMEOUT.name(), "60s");
    s.put(TransportConf.READ_TIMEOUT.name(), "120s");
    return TransportConf.fromMap(s);
  }

  private static String require(Map<String, String> a, String key) {
    String v = a.get(key);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException("IvshmemBench needs " + key + "=");
    }
    return v;
  }

  private static int port(Map<String, String> a) {
    return Integer.parseInt(a.getOrDefault("port", "7400"));
  }

  static int serve(Map<String, String> a) throws Exception {
    Path dir = Files.createTempDirectory("vrdma-ivshmem-");
    Path file = Workload.writeSourceFile(dir.resolve("source"));
    CountDownLatch done = new CountDownLatch(1);
    try (TransportNode blockNode = TransportNode.start(conf(a, port(a)));
        BlockServer server = new BlockServer(blockNode, BlockConf.defaults(), false);
        TransportNode rawNode = TransportNode.start(conf(a, port(a) + 1));
        Registration raw = rawNode.register(RegionSource.fileSegment(file, 0, Workload.SOURCE_BYTES),
            EnumSet.of(Tier.SHM))) {
      byte[] descriptor = raw.descriptor(Tier.SHM).orElseThrow(
          () -> new IllegalStateException("the source was not placed in the shm arena")).toBytes();
      server.createNamespace(NAMESPACE, null);
      List<BlockSegment> blocks = new ArrayList<>();
      for (int i = 0; i < BLOCKS; i++) {
        blocks.add(new BlockSegment("b" + i, (long) i * BLOCK_BYTES, BLOCK_BYTES));
      }
      server.publish(NAMESPACE, file, blocks);
      // Last: until the handler is set, the reader's request is refused and it asks again, so an answer
      // means that the region and the blocks are all in place.
      rawNode.setControlHandler((peer, request) -> {
        String what = StandardCharsets.UTF_8.decode(request).toString();
        if (what.equals(DONE)) {
          done.countDown();
          return CompletableFuture.completedFuture(ByteBuffer.allocate(0));
        }
        if (what.equals(ASK_REGION)) {
          return CompletableFuture.completedFuture(ByteBuffer.wrap(descriptor));
        }
        throw new IllegalArgumentException("unknown request '" + what + "'");
      });
      System.out.println("serving " + Workload.sizeLabel(Workload.SOURCE_BYTES) + " and " + BLOCKS
          + " blocks from the shm arena " + a.get("arena") + " on " + a.get("host") + ":" + port(a));
      System.out.flush();
      // interruptible, so that a caller in the same JVM (the smoke test) can stop a server nobody reads
      if (!done.await(30, TimeUnit.MINUTES)) {
        System.err.println("no reader said it was done within 30 minutes");
        return 1;
      }
      return 0;
    } finally {
      BenchNodes.deleteQuietly(dir);
    }
  }

  static int read(Map<String, String> a) throws Exception {
    String serverHost = require(a, "server");
    int rounds = Integer.parseInt(a.getOrDefault("rounds", "7"));
    int[] sizes = Arrays.stream(a.getOrDefault("sizes", "65536,1048576,16777216").split(","))
        .mapToInt(Integer::parseInt).toArray();
    List<String> failures = new ArrayList<>();
    try (TransportNode node = TransportNode.start(conf(a, 0))) {
      Connection raw;
      try {
        raw = connectWithRetry(node, serverHost, port(a) + 1);
      } catch (NoCommonTierException e) {
        failures.add("no shm tier with the server (" + e.getMessage() + "): the two VMs do not map the same"
            + " arena");
        return report(failures);
      }
      try {
        if (raw.tier() != Tier.SHM) {
          failures.add("the connection chose " + raw.tier().configName() + ", not shm: the VMs do not share"
              + " the arena");
        } else {
          RegionDescriptor region = RegionDescriptor.fromBytes(askRegion(raw));
          System.out.printf(Locale.ROOT, "%-10s %14s %14s %8s   %s%n", "block", "shm GB/s", "memcpy GB/s", "ratio",
              "target");
          for (int size : sizes) {
            measure(node, raw, region, size, rounds, failures);
          }
        }
        fetchBlocks(node, serverHost, port(a), failures);
      } finally {
        try {
          raw.request(utf8(DONE)).get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
          System.err.println("could not tell the server to stop: " + e);
        }
        raw.close();
      }
    }
    return report(failures);
  }

  private static int report(List<String> failures) {
    if (failures.isEmpty()) {
      System.out.println("PASS: every byte read across the VMs through the IVSHMEM arena was correct");
      return 0;
    }
    failures.forEach(f -> System.out.println("FAIL: " + f));
    return 1;
  }

  /** The region's descriptor, once the server has published everything (it refuses until then). */
  private static byte[] askRegion(Connection raw) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (true) {
      try {
        return toArray(raw.request(utf8(ASK_REGION)).get(60, TimeUnit.SECONDS));
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof RemoteException) || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  /** The server VM may still be starting its JVM: try for two minutes. */
  private static Connection connectWithRetry(TransportNode node, String host, int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (true) {
      try {
        return node.connect(host, port);
      } catch (PeerUnavailableException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(500);
      }
    }
  }

  /**
   * Rounds of one window each, shm read and memcpy alternating so that both see the same machine
   * load; the medians are compared. Every shm window's last block is checked byte for byte.
   */
  private static void measure(TransportNode node, Connection raw, RegionDescriptor region, int blockBytes,
      int rounds, List<String> failures) throws Exception {
    int depth = Workload.depth(blockBytes);
    int blocks = Workload.blocksPerWindow(blockBytes);
    long window = (long) blocks * blockBytes;
    PooledBuffer[] buffers = new PooledBuffer[depth];
    ByteBuffer source = Workload.sourceBuffer();
    try {
      for (int i = 0; i < depth; i++) {
        buffers[i] = node.bufferPool().acquire(blockBytes);
      }
      double[] shm = new double[rounds];
      double[] memcpy = new double[rounds];
      // one untimed round of each first: JIT, page faults on the destinations
      shmWindow(raw, region, buffers, blockBytes, blocks);
      memcpyWindow(source, buffers, blockBytes, blocks);
      for (int r = 0; r < rounds; r++) {
        long t0 = System.nanoTime();
        shmWindow(raw, region, buffers, blockBytes, blocks);
        long t1 = System.nanoTime();
        int last = (blocks - 1) % depth;
        try {
          Workload.verify(buffers[last].nioBuffer(), Workload.offset(blocks - 1, blockBytes), blockBytes,
              "shm read of " + Workload.sizeLabel(blockBytes));
        } catch (IllegalStateException e) {
          failures.add(e.getMessage());
          return;
        }
        long t2 = System.nanoTime();
        memcpyWindow(source, buffers, blockBytes, blocks);
        long t3 = System.nanoTime();
        shm[r] = window / (double) (t1 - t0);
        memcpy[r] = window / (double) (t3 - t2);
      }
      double s = median(shm);
      double m = median(memcpy);
      String target = blockBytes >= TARGET_FROM_BYTES
          ? String.format(Locale.ROOT, ">= %.2f: %s", TARGET_RATIO, s / m >= TARGET_RATIO ? "met" : "NOT met") : "-";
      System.out.printf(Locale.ROOT, "%-10s %14.2f %14.2f %8.2f   %s%n", Workload.sizeLabel(blockBytes), s, m, s / m,
          target);
    } finally {
      for (PooledBuffer b : buffers) {
        if (b != null) {
          b.release();
        }
      }
    }
  }

  private static void shmWindow(Connection raw, RegionDescriptor region, PooledBuffer[] buffers, int blockBytes,
      int blocks) throws Exception {
    CompletableFuture<?>[] inFlight = new CompletableFuture<?>[buffers.length];
    for (int i = 0; i < blocks; i++) {
      int slot = i % buffers.length;
      if (inFlight[slot] != null) {
        inFlight[slot].get(120, TimeUnit.SECONDS);
      }
      inFlight[slot] = raw.read(region, Workload.offset(i, blockBytes), blockBytes, buffers[slot], 0);
    }
    for (CompletableFuture<?> f : inFlight) {
      if (f != null) {
        f.get(120, TimeUnit.SECONDS);
      }
    }
  }

  private static void memcpyWindow(ByteBuffer source, PooledBuffer[] buffers, int blockBytes, int blocks) {
    for (int i = 0; i < blocks; i++) {
      buffers[i % buffers.length].nioBuffer().put(0, source, (int) Workload.offset(i, blockBytes), blockBytes);
    }
  }

  /** Every published block through the block client; each must arrive over shm with the right bytes. */
  private static void fetchBlocks(TransportNode node, String host, int port, List<String> failures)
      throws Exception {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < BLOCKS; i++) {
      ids.add("b" + i);
    }
    ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
    BlockFetchListener check = new BlockFetchListener() {
      @Override
      public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
        try (block) {
          int index = Integer.parseInt(blockId.substring(1));
          Workload.verify(block.nioByteBuffer(), (long) index * BLOCK_BYTES, BLOCK_BYTES, "block " + blockId);
        } catch (IOException | RuntimeException e) {
          problems.add(e.getMessage());
        }
      }

      @Override
      public void onBlockFetchFailure(String blockId, Throwable cause) {
        problems.add("block " + blockId + " failed: " + cause);
      }
    };
    long bytes = (long) BLOCKS * BLOCK_BYTES;
    try (BlockClient client = new BlockClient(node, BlockConf.defaults())) {
      // The first fetch pays for the connection, the namespace handshake and the JIT; the second is timed.
      client.fetch(host, port, NAMESPACE, null, ids, check).get(10, TimeUnit.MINUTES);
      long t0 = System.nanoTime();
      client.fetch(host, port, NAMESPACE, null, ids, check).get(10, TimeUnit.MINUTES);
      long t1 = System.nanoTime();
      System.out.printf(Locale.ROOT, "block fetch (block client, CRC32C checked): %d blocks of 1 MiB in %.1f ms,"
          + " %.2f GB/s%n", BLOCKS, (t1 - t0) / 1e6, bytes / (double) (t1 - t0));
      failures.addAll(problems);
      long shmBytes = client.metrics().bytes(Tier.SHM);
      if (shmBytes != 2 * bytes) {
        failures.add("the block fetches moved " + shmBytes + " of " + 2 * bytes + " bytes over shm ("
            + client.metrics() + ")");
      }
    }
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static ByteBuffer utf8(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] toArray(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }
}
