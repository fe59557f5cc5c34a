package io.vrdma.bench.hadoop;

import io.vrdma.block.BlockConf;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One fresh reducer JVM of {@link ReducerStartBenchmark}: reads one host's map outputs over our client ({@code
 * vrdma HOST PORT MAPS BLOCK_BYTES ARENA}) or over HTTP as Hadoop's fetcher does ({@code http HOST PORT MAPS
 * BLOCK_BYTES}), each partition copied to the heap as the merge manager's in-memory outputs are, and prints its
 * times as {@code result.<key>=<value>} lines.
 */
public final class ReducerStartChild {
  static final String RESULT = "result.";
  static final String URL_HASH = "UrlHash";
  /** About what Hadoop's {@code ShuffleHeader} takes on the wire before each map's partition. */
  static final int SHUFFLE_HEADER_BYTES = 40;

  /**
   * System property: milliseconds this JVM works on its main thread before the shuffle starts, as a YARN task
   * JVM does (the umbilical, the job's configuration, the task's set-up: about two seconds in TeraSort's reducers).
   */
  static final String TASK_START_MS = "reducer.start.taskStartMs";

  private ReducerStartChild() {}

  /** Keeps this thread on a core for {@code millis}: the task's own start-up, which takes a core. */
  private static void busy(long millis) {
    long end = System.nanoTime() + millis * 1_000_000;
    long spins = 0;
    while (System.nanoTime() < end) {
      spins++;
    }
    if (spins < 0) {
      throw new AssertionError(); // keeps the loop
    }
  }

  static String indexId(int map) {
    return "index_" + map;
  }

  static String dataId(int map) {
    return "data_" + map;
  }

  static String hmac(String url) {
    return ReducerStartBenchmark.base64(ReducerStartBenchmark.mac().doFinal(url.getBytes(StandardCharsets.UTF_8)));
  }

  public static void main(String[] args) throws Exception {
    long mainWallMs = System.currentTimeMillis();
    // a reduce task's JVM has its logging running before the shuffle starts: so has this one, whichever the path
    org.slf4j.LoggerFactory.getLogger(ReducerStartChild.class).info("reducer start benchmark: {}", args[0]);
    busy(Long.getLong(TASK_START_MS, 0));
    long t0 = System.nanoTime();
    String host = args[1];
    int port = Integer.parseInt(args[2]);
    int maps = Integer.parseInt(args[3]);
    int blockBytes = Integer.parseInt(args[4]);
    long[] times = args[0].equals("vrdma") ? ours(host, port, maps, blockBytes, args[5]) : http(host, port, maps,
        blockBytes);
    print("client_started_ms", (times[0] - t0) / 1e6);
    print("first_byte_ms", (times[1] - t0) / 1e6);
    print("last_byte_ms", (times[2] - t0) / 1e6);
    print("jvm_to_main_ms", mainWallMs - ManagementFactory.getRuntimeMXBean().getStartTime());
    print("classes_loaded", ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount());
    System.exit(0); // the client's threads need not wind down
  }

  private static void print(String key, double value) {
    System.out.println(RESULT + key + "=" + value);
  }

  /** Our reducer: as {@code VrdmaShuffle} starts its client and {@code VrdmaFetcher} reads a host. */
  static long[] ours(String host, int port, int maps, int blockBytes, String arena) throws Exception {
    Map<String, String> settings = new java.util.HashMap<>();
    // the job's own vrdma.* settings, as a reducer has them from its job configuration
    System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("vrdma."))
        .forEach(k -> settings.put(k, System.getProperty(k)));
    settings.put(TransportConf.SHM_ARENA_PATH.name(), arena);
    settings.put(TransportConf.SHM_ARENA_BYTES.name(), "256m");
    TransportConf conf = TransportConf.fromMap(settings);
    TransportNode node = TransportNode.startClient(conf);
    BlockClient client = new BlockClient(node, BlockConf.defaults());
    long started = System.nanoTime();
    List<String> index = new ArrayList<>();
    List<String> data = new ArrayList<>();
    for (int m = 0; m < maps; m++) {
      index.add(indexId(m));
      data.add(dataId(m));
    }
    for (FetchedBlock b : fetch(client, host, port, index)) {
      try (b) {
        ByteBuffer record = b.nioByteBuffer();
        if (record.getLong(8) != blockBytes) {
          throw new IOException("index record of " + b.blockId() + " says " + record.getLong(8) + " bytes");
        }
      }
    }
    Arrivals arrivals = new Arrivals();
    client.fetch(host, port, ReducerStartBenchmark.NAMESPACE, ReducerStartBenchmark.SECRET, data, arrivals);
    long first = 0;
    for (int i = 0; i < maps; i++) {
      try (FetchedBlock b = arrivals.next()) {
        if (first == 0) {
          first = System.nanoTime();
        }
        byte[] copy = new byte[(int) b.size()];
        b.nioByteBuffer().get(copy);
      }
    }
    return new long[] {started, first, System.nanoTime()};
  }

  private static List<FetchedBlock> fetch(BlockClient client, String host, int port, List<String> ids)
      throws Exception {
    Arrivals arrivals = new Arrivals();
    client.fetch(host, port, ReducerStartBenchmark.NAMESPACE, ReducerStartBenchmark.SECRET, ids, arrivals);
    List<FetchedBlock> got = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      got.add(arrivals.next());
    }
    return got;
  }

  /** Blocks in arrival order; a failure ends the run. */
  private static final class Arrivals implements BlockFetchListener {
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();

    @Override
    public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
      queue.add(block);
    }

    @Override
    public void onBlockFetchFailure(String blockId, Throwable cause) {
      queue.add(new IOException(blockId + " failed: " + cause, cause));
    }

    FetchedBlock next() throws Exception {
      Object got = queue.poll(60, TimeUnit.SECONDS);
      if (got == null) {
        throw new IOException("no block within 60 s");
      }
      if (got instanceof Exception e) {
        throw e;
      }
      return (FetchedBlock) got;
    }
  }

  /** Hadoop's fetcher: one GET for the host's maps, the URL's HMAC in a header, header then partition per map. */
  static long[] http(String host, int port, int maps, int blockBytes) throws Exception {
    StringBuilder url = new StringBuilder("/mapOutput?job=" + ReducerStartBenchmark.NAMESPACE + "&reduce=0&map=");
    for (int m = 0; m < maps; m++) {
      url.append(m == 0 ? "" : ",").append("attempt_0000000000000_0001_m_").append(String.format("%06d", m))
          .append("_0");
    }
    String hash = hmac(url.toString());
    HttpURLConnection connection = (HttpURLConnection) URI.create("http://" + host + ":" + port + url).toURL()
        .openConnection();
    connection.setRequestProperty(URL_HASH, hash);
    long started = System.nanoTime(); // Hadoop's fetcher has nothing to start: its classes are the JDK's
    connection.connect();
    if (connection.getResponseCode() != 200) {
      throw new IOException("HTTP " + connection.getResponseCode());
    }
    long first = 0;
    try (InputStream body = connection.getInputStream(); DataInputStream in = new DataInputStream(body)) {
      byte[] header = new byte[SHUFFLE_HEADER_BYTES];
      for (int m = 0; m < maps; m++) {
        in.readFully(header);
        byte[] copy = new byte[blockBytes];
        in.readFully(copy, 0, 1);
        if (first == 0) {
          first = System.nanoTime();
        }
        in.readFully(copy, 1, blockBytes - 1);
      }
    }
    return new long[] {started, first, System.nanoTime()};
  }
}
