package io.vrdma.bench;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockSegment;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.Connection;
import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Registration;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.config.TransportConf;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The verbs bench's two JVMs (benchmarks/vm/verbs-bench.sh runs them in a Soft-RoCE guest):
 *
 * <pre>
 *   VerbsBench serve DIR                 publish blocks and a 64 MiB region; write DIR/handoff; run until stdin closes
 *   VerbsBench blocks DIR                fetch every block over the block layer, each checked byte by byte
 *   VerbsBench reads DIR SIZES SECONDS   measure reads of the region per size: throughput (reads kept in flight)
 *                                        and latency (one read at a time), printing "size MiB/s usec usec" lines
 * </pre>
 *
 * Both force one tier for the data and fail loudly when it is not what moved the bytes: verbs by default
 * (tcp carries the control channel only), or {@code -Dvrdma.bench.tier=rsocket} (both JVMs under librdmacm's
 * preload: the tcp tier's code on rsockets) or {@code tcp} (kernel TCP, the rsocket rows' reference). Nodes
 * listen on {@code -Dvrdma.bench.host} (default 127.0.0.1; the bench gives rsocket and tcp the guest's address
 * on the Soft-RoCE NIC).
 */
public final class VerbsBench {
  /** The tier the data must take ({@code -Dvrdma.bench.tier}: verbs, rsocket or tcp). */
  private static final Tier TIER = Tier.fromName(System.getProperty("vrdma.bench.tier", "verbs"));
  private static final String HOST = System.getProperty("vrdma.bench.host", "127.0.0.1");

  private static final long REGION_BYTES = 64L << 20;
  private static final int BLOCKS = 48;
  private static final int BLOCK_BYTES = (1 << 20) + 4093; // odd sizes: blocks do not line up with pages
  private static final String NAMESPACE = "bench";

  private VerbsBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length >= 2 && args[0].equals("serve")) {
      serve(Path.of(args[1]));
    } else if (args.length == 2 && args[0].equals("blocks")) {
      System.exit(fetch(Path.of(args[1]), List.of(), 0));
    } else if (args.length == 4 && args[0].equals("reads")) {
      List<Integer> sizes = Arrays.stream(args[2].split(",")).map(s -> (int) parseSize(s)).toList();
      System.exit(fetch(Path.of(args[1]), sizes, Double.parseDouble(args[3])));
    } else {
      System.err.println("usage: VerbsBench serve DIR | VerbsBench blocks DIR | VerbsBench reads DIR SIZES SECONDS");
      System.exit(2);
    }
  }

  static long parseSize(String s) {
    String v = s.trim().toLowerCase(java.util.Locale.ROOT);
    long m = v.endsWith("k") ? 1L << 10 : v.endsWith("m") ? 1L << 20 : 1;
    return Long.parseLong(m == 1 ? v : v.substring(0, v.length() - 1)) * m;
  }

  /**
   * The serving node's verbs registration budget: the 64 MiB read region plus an eighth of the blocks, so the
   * block fetch moves eight times what the staging window can hold registered at once (issue 14).
   */
  static final long SERVE_MAX_REGISTERED = REGION_BYTES + (long) BLOCKS * BLOCK_BYTES / 8;

  private static TransportConf conf() {
    return conf(Map.of());
  }

  private static TransportConf conf(Map<String, String> extra) {
    Map<String, String> s = new HashMap<>();
    s.put(TransportConf.HOST.name(), HOST);
    s.put(TransportConf.TIERS.name(), TIER == Tier.VERBS ? "verbs,tcp" : TIER.configName());
    s.put(TransportConf.POOL_MAX_BUFFER.name(), "16m");
    s.put(TransportConf.POOL_MAX_BYTES.name(), "512m");
    s.putAll(extra);
    // -Dvrdma.transport.<key>=<value> overrides, e.g. the verbs tier's reads in flight or completion mode
    System.getProperties().forEach((k, v) -> {
      if (k.toString().startsWith(TransportConf.PREFIX)) {
        s.put(k.toString(), v.toString());
      }
    });
    return TransportConf.fromMap(s);
  }

  /** The pattern byte at a position of a file: position-dependent, so misplaced bytes are caught. */
  static byte patternAt(long position) {
    return (byte) ((position * 0x9E3779B1L) >>> 24);
  }

  private static Path writePattern(Path file, long length) throws IOException {
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING)) {
      byte[] chunk = new byte[1 << 20];
      for (long at = 0; at < length; at += chunk.length) {
        int n = (int) Math.min(chunk.length, length - at);
        for (int i = 0; i < n; i++) {
          chunk[i] = patternAt(at + i);
        }
        out.write(chunk, 0, n);
      }
    }
    return file;
  }

  private static void serve(Path dir) throws Exception {
    Path data = writePattern(dir.resolve("region.bin"), REGION_BYTES);
    Path blocks = writePattern(dir.resolve("blocks.bin"), (long) BLOCKS * BLOCK_BYTES);
    try (TransportNode node = TransportNode.start(conf(TIER != Tier.VERBS ? Map.of()
            : Map.of(TransportConf.VERBS_MAX_REGISTERED.name(), Long.toString(SERVE_MAX_REGISTERED))));
        BlockServer server = new BlockServer(node, BlockConf.defaults(), false);
        Registration region = node.register(RegionSource.fileSegment(data, 0, REGION_BYTES))) {
      if (!node.has(TIER)) {
        throw new IllegalStateException(TIER.configName() + " tier off: "
            + node.availability().get(TIER.ordinal()).detail());
      }
      server.createNamespace(NAMESPACE, null);
      List<BlockSegment> segments = new ArrayList<>();
      for (int i = 0; i < BLOCKS; i++) {
        segments.add(new BlockSegment("block-" + i, (long) i * BLOCK_BYTES, BLOCK_BYTES));
      }
      server.publish(NAMESPACE, blocks, segments);
      NodeAdvertisement adv = node.advertisement();
      RegionDescriptor d = region.descriptor(TIER).orElseThrow();
      Path handoff = dir.resolve("handoff");
      Files.writeString(dir.resolve("handoff.tmp"), adv.host() + " " + adv.port() + " "
          + HexFormat.of().formatHex(d.toBytes()) + "\n");
      Files.move(dir.resolve("handoff.tmp"), handoff, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      System.err.println("VerbsBench serving: " + node.provider(TIER).detail() + (TIER != Tier.VERBS ? ""
          : "; blocks staged through a verbs window of " + (SERVE_MAX_REGISTERED - REGION_BYTES) + " bytes for "
              + (long) BLOCKS * BLOCK_BYTES + " bytes of blocks"));
      while (System.in.read() >= 0) {
        // runs until the driver closes our stdin
      }
      if (TIER == Tier.VERBS) {
        System.err.println("VerbsBench staging window: " + server.stagingMetrics());
      }
    }
  }

  private static int fetch(Path dir, List<Integer> sizes, double seconds) throws Exception {
    Path handoff = dir.resolve("handoff");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!Files.exists(handoff)) {
      if (System.nanoTime() > deadline) {
        System.err.println("FAIL: the serving JVM wrote no handoff within 120 s");
        return 1;
      }
      Thread.sleep(100);
    }
    String[] h = Files.readString(handoff).trim().split(" ");
    RegionDescriptor region = RegionDescriptor.fromBytes(HexFormat.of().parseHex(h[2]));
    try (TransportNode node = TransportNode.start(conf())) {
      if (!node.has(TIER)) {
        System.err.println("FAIL: " + TIER.configName() + " tier off: " + node.availability().get(TIER.ordinal()).detail());
        return 1;
      }
      if (sizes.isEmpty()) {
        return fetchBlocks(node, h[0], Integer.parseInt(h[1]));
      }
      try (Connection c = node.connect(h[0], Integer.parseInt(h[1]))) {
        if (c.tier() != TIER) {
          System.err.println("FAIL: the connection chose " + c.tier().configName() + ", not " + TIER.configName());
          return 1;
        }
        for (int size : sizes) {
          double mibs = throughput(node, c, region, size, seconds);
          double[] lat = latency(node, c, region, size, seconds / 2);
          System.out.printf(java.util.Locale.ROOT, "%d %.1f %.1f %.1f%n", size, mibs, lat[0], lat[1]);
        }
      }
      return 0;
    }
  }

  private static int fetchBlocks(TransportNode node, String host, int port) throws Exception {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < BLOCKS; i++) {
      ids.add("block-" + i);
    }
    Map<String, String> problems = new ConcurrentHashMap<>();
    AtomicInteger good = new AtomicInteger();
    long t0 = System.nanoTime();
    try (BlockClient client = new BlockClient(node, BlockConf.defaults())) {
      client.fetch(host, port, NAMESPACE, null, ids, new BlockFetchListener() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          try (block) {
            long base = (long) Integer.parseInt(blockId.substring("block-".length())) * BLOCK_BYTES;
            ByteBuffer b = block.nioByteBuffer();
            if (b.remaining() != BLOCK_BYTES) {
              problems.put(blockId, b.remaining() + " bytes");
              return;
            }
            for (int i = 0; i < BLOCK_BYTES; i++) {
              if (b.get(i) != patternAt(base + i)) {
                problems.put(blockId, "wrong byte at " + i);
                return;
              }
            }
            good.incrementAndGet();
          } catch (IOException e) {
            problems.put(blockId, e.toString());
          }
        }

        @Override
        public void onBlockFetchFailure(String blockId, Throwable cause) {
          problems.put(blockId, cause.toString());
        }
      }).get(300, TimeUnit.SECONDS);
      double secs = (System.nanoTime() - t0) / 1e9;
      long tierBlocks = client.metrics().blocks(TIER);
      String name = TIER.configName();
      System.out.printf(java.util.Locale.ROOT, "# block fetch: %d of %d blocks of %d bytes intact, %d over %s,"
          + " %.2f s (%.1f MiB/s); client metrics: %s%n", good.get(), BLOCKS, BLOCK_BYTES, tierBlocks, name, secs,
          (double) BLOCKS * BLOCK_BYTES / secs / (1 << 20), client.metrics());
      if (!problems.isEmpty() || tierBlocks != BLOCKS) {
        System.err.println("FAIL: block fetch over " + name + ": " + problems + ", " + tierBlocks + " of " + BLOCKS
            + " blocks over " + name);
        return 1;
      }
      System.out.println("# block fetch over " + name + ": PASS");
      return 0;
    }
  }

  /**
   * MiB/s of reads of {@code size} bytes with {@code LANES} reads kept in flight all the time: each lane
   * issues its next read as soon as its last completes, and checks one byte of it.
   */
  private static double throughput(TransportNode node, Connection c, RegionDescriptor region, int size,
      double seconds) throws Exception {
    long slots = REGION_BYTES / size;
    List<PooledBuffer> buffers = acquire(node, LANES, size);
    try {
      runLanes(c, region, size, buffers, slots, System.nanoTime() + 500_000_000L); // warm-up, registers buffers
      long t0 = System.nanoTime();
      long bytes = runLanes(c, region, size, buffers, slots, t0 + (long) (seconds * 1e9));
      return bytes / ((System.nanoTime() - t0) / 1e9) / (1 << 20);
    } finally {
      buffers.forEach(PooledBuffer::release);
    }
  }

  /** Reads kept in flight by the throughput measurement ({@code -Dvrdma.bench.lanes}). */
  private static final int LANES = Integer.getInteger("vrdma.bench.lanes", 32);

  private static long runLanes(Connection c, RegionDescriptor region, int size, List<PooledBuffer> buffers,
      long slots, long end) throws Exception {
    java.util.concurrent.atomic.AtomicLong next = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();
    List<CompletableFuture<Void>> lanes = new ArrayList<>();
    for (PooledBuffer buffer : buffers) {
      lanes.add(lane(c, region, size, buffer, slots, end, next, bytes));
    }
    CompletableFuture.allOf(lanes.toArray(new CompletableFuture<?>[0])).get(120, TimeUnit.SECONDS);
    return bytes.get();
  }

  private static CompletableFuture<Void> lane(Connection c, RegionDescriptor region, int size, PooledBuffer buffer,
      long slots, long end, java.util.concurrent.atomic.AtomicLong next, java.util.concurrent.atomic.AtomicLong bytes) {
    if (System.nanoTime() >= end) {
      return CompletableFuture.completedFuture(null);
    }
    long at = (next.getAndIncrement() % slots) * size;
    return c.read(region, at, size, buffer, 0).thenCompose(x -> {
      if (buffer.nioBuffer().get(size - 1) != patternAt(at + size - 1)) {
        throw new IllegalStateException("read of " + size + " bytes at " + at + " returned a wrong byte");
      }
      bytes.addAndGet(size);
      return lane(c, region, size, buffer, slots, end, next, bytes);
    });
  }

  private static List<PooledBuffer> acquire(TransportNode node, int count, int size) throws Exception {
    List<PooledBuffer> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(node.bufferPool().acquire(size));
    }
    return out;
  }

  /** Median and mean microseconds of one read at a time. */
  private static double[] latency(TransportNode node, Connection c, RegionDescriptor region, int size, double seconds)
      throws Exception {
    List<PooledBuffer> buffer = acquire(node, 1, size);
    try {
      long slots = REGION_BYTES / size;
      List<Long> samples = new ArrayList<>();
      c.read(region, 0, size, buffer.get(0), 0).get(60, TimeUnit.SECONDS);
      long end = System.nanoTime() + (long) (seconds * 1e9);
      for (long i = 0; System.nanoTime() < end || samples.size() < 10; i++) {
        long t = System.nanoTime();
        c.read(region, (i % slots) * size, size, buffer.get(0), 0).get(60, TimeUnit.SECONDS);
        samples.add(System.nanoTime() - t);
      }
      long[] sorted = samples.stream().mapToLong(Long::longValue).sorted().toArray();
      return new double[] {sorted[sorted.length / 2] / 1e3, Arrays.stream(sorted).average().orElse(0) / 1e3};
    } finally {
      buffer.forEach(PooledBuffer::release);
    }
  }
}
