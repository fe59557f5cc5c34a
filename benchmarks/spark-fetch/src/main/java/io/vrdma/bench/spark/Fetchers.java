package io.vrdma.bench.spark;

import io.vrdma.block.BlockConf;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.transport.TransportNode;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.spark.network.TransportContext;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.client.TransportClient;
import org.apache.spark.network.client.TransportClientFactory;
import org.apache.spark.network.server.NoOpRpcHandler;
import org.apache.spark.network.shuffle.BlockFetchingListener;
import org.apache.spark.network.shuffle.OneForOneBlockFetcher;
import org.apache.spark.network.util.TransportConf;

/**
 * The fetching side: each fetcher fetches every block of the layout once per round and returns the wall time.
 * Both hand each arriving block to the thread that measures, which takes it from a queue, checks its size and
 * releases it, as a reduce task consumes Spark's {@code ShuffleBlockFetcherIterator}; both keep at most
 * {@link #MAX_BYTES_IN_FLIGHT} of blocks in flight.
 */
final class Fetchers {
  /** Spark's {@code spark.reducer.maxSizeInFlight} default, used for both sides. */
  static final long MAX_BYTES_IN_FLIGHT = 48L << 20;
  private static final long TIMEOUT_SECONDS = 120;

  private Fetchers() {}

  /** One kind of client, connected to its peer. */
  interface Fetcher extends AutoCloseable {
    /** Fetches all blocks once; returns the nanoseconds it took. */
    long fetchAll() throws Exception;

    @Override
    void close();
  }

  /** Our block client on a transport node forced to one tier. */
  static final class Vrdma implements Fetcher {
    private final TransportNode node;
    private final BlockClient client;
    private final int port;
    private final BlockLayout layout;
    private final List<String> ids;

    private final byte[] secret;

    Vrdma(String tier, String arena, long arenaBytes, int port, BlockLayout layout) throws Exception {
      this.secret = tier.equals("tcp-enc") ? FetchPeer.SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8) : null;
      this.node = TransportNode.start(FetchPeer.Peers.vrdmaConf(tier, arena, arenaBytes, layout.blockBytes()));
      String inFlight = Long.toString(MAX_BYTES_IN_FLIGHT);
      this.client = new BlockClient(node, BlockConf.fromMap(Map.of(BlockConf.MAX_BYTES_IN_FLIGHT.name(), inFlight,
          BlockConf.MAX_BYTES_IN_FLIGHT_PER_PEER.name(), inFlight)));
      this.port = port;
      this.layout = layout;
      this.ids = layout.blockIds();
    }

    @Override
    public long fetchAll() throws Exception {
      BlockingQueue<Object> arrived = new LinkedBlockingQueue<>();
      long start = System.nanoTime();
      client.fetch("127.0.0.1", port, FetchPeer.NAMESPACE, secret, ids, new BlockFetchListener() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          arrived.add(block);
        }

        @Override
        public void onBlockFetchFailure(String blockId, Throwable cause) {
          arrived.add(new IOException("block " + blockId + ": " + cause, cause));
        }
      });
      for (int i = 0; i < layout.blocks(); i++) {
        FetchedBlock block = (FetchedBlock) take(arrived);
        try {
          checkSize(block.blockId(), block.size(), layout.blockBytes());
        } finally {
          block.release();
        }
      }
      return System.nanoTime() - start;
    }

    @Override
    public void close() {
      client.close();
      node.close();
    }
  }

  /**
   * Spark's client side of a shuffle fetch: a {@link TransportClient} from Spark's client factory and one
   * {@link OneForOneBlockFetcher} per request, requests formed and issued as {@code ShuffleBlockFetcherIterator}
   * does (requests of about maxSizeInFlight / 5 bytes; a new one goes out while the bytes in flight stay within
   * maxSizeInFlight; a block's bytes leave the count when the consumer takes it).
   */
  static final class Spark implements Fetcher {
    private final TransportConf conf;
    private final TransportContext context;
    private final TransportClientFactory factory;
    private final TransportClient client;
    private final BlockLayout layout;
    private final List<String[]> requests = new ArrayList<>();

    Spark(int port, BlockLayout layout, boolean crypto) throws IOException, InterruptedException {
      this.conf = FetchPeer.Peers.sparkConf(crypto);
      this.context = new TransportContext(conf, new NoOpRpcHandler());
      this.factory = crypto ? context.createClientFactory(List.of(new org.apache.spark.network.crypto.AuthClientBootstrap(
          conf, FetchPeer.APP_ID, FetchPeer.Peers.SECRETS))) : context.createClientFactory();
      this.client = factory.createClient("127.0.0.1", port);
      this.layout = layout;
      long target = Math.max(MAX_BYTES_IN_FLIGHT / 5, 1);
      List<String> current = new ArrayList<>();
      long currentBytes = 0;
      for (String id : layout.blockIds()) {
        current.add(id);
        currentBytes += layout.blockBytes();
        if (currentBytes >= target) {
          requests.add(current.toArray(new String[0]));
          current.clear();
          currentBytes = 0;
        }
      }
      if (!current.isEmpty()) {
        requests.add(current.toArray(new String[0]));
      }
    }

    @Override
    public long fetchAll() throws Exception {
      BlockingQueue<Object> arrived = new LinkedBlockingQueue<>();
      BlockFetchingListener listener = new BlockFetchingListener() {
        @Override
        public void onBlockFetchSuccess(String blockId, ManagedBuffer data) {
          data.retain(); // the fetcher releases it when we return, as ShuffleBlockFetcherIterator also retains
          arrived.add(new Object[] {blockId, data});
        }

        @Override
        public void onBlockFetchFailure(String blockId, Throwable cause) {
          arrived.add(new IOException("block " + blockId + ": " + cause, cause));
        }
      };
      ArrayDeque<String[]> pending = new ArrayDeque<>(requests);
      long start = System.nanoTime();
      long bytesInFlight = sendWithinLimit(pending, 0, listener);
      for (int i = 0; i < layout.blocks(); i++) {
        Object[] got = (Object[]) take(arrived);
        ManagedBuffer data = (ManagedBuffer) got[1];
        try {
          checkSize((String) got[0], data.size(), layout.blockBytes());
        } finally {
          data.release();
        }
        bytesInFlight = sendWithinLimit(pending, bytesInFlight - layout.blockBytes(), listener);
      }
      return System.nanoTime() - start;
    }

    private long sendWithinLimit(ArrayDeque<String[]> pending, long bytesInFlight, BlockFetchingListener listener) {
      while (!pending.isEmpty()) {
        long size = (long) pending.peekFirst().length * layout.blockBytes();
        if (bytesInFlight > 0 && bytesInFlight + size > MAX_BYTES_IN_FLIGHT) {
          break;
        }
        new OneForOneBlockFetcher(client, FetchPeer.APP_ID, "1", pending.pollFirst(), listener, conf).start();
        bytesInFlight += size;
      }
      return bytesInFlight;
    }

    @Override
    public void close() {
      client.close();
      factory.close();
      context.close();
    }
  }

  private static Object take(BlockingQueue<Object> arrived) throws Exception {
    Object got = arrived.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    if (got == null) {
      throw new IOException("no block arrived within " + TIMEOUT_SECONDS + " s");
    }
    if (got instanceof Exception e) {
      throw e;
    }
    return got;
  }

  private static void checkSize(String id, long size, int expected) throws IOException {
    if (size != expected) {
      throw new IOException("block " + id + " arrived with " + size + " bytes, expected " + expected);
    }
  }
}
