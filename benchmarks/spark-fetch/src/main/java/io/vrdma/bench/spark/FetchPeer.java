package io.vrdma.bench.spark;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockSegment;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.TransportNode;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.network.TransportContext;
import org.apache.spark.network.buffer.FileSegmentManagedBuffer;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.client.RpcResponseCallback;
import org.apache.spark.network.client.TransportClient;
import org.apache.spark.network.server.OneForOneStreamManager;
import org.apache.spark.network.server.RpcHandler;
import org.apache.spark.network.server.StreamManager;
import org.apache.spark.network.server.TransportServer;
import org.apache.spark.network.shuffle.protocol.BlockTransferMessage;
import org.apache.spark.network.shuffle.protocol.FetchShuffleBlocks;
import org.apache.spark.network.shuffle.protocol.OpenBlocks;
import org.apache.spark.network.shuffle.protocol.StreamHandle;
import org.apache.spark.network.util.MapConfigProvider;
import org.apache.spark.network.util.TransportConf;

/**
 * The serving side of the benchmark, in a process of its own: it serves the data files of a {@link BlockLayout}
 * either with our {@link BlockServer} on a transport node forced to one tier, or with Spark's Netty block
 * transfer server, prints {@code READY <port>} and serves until its standard input closes.
 *
 * <p>usage: {@code FetchPeer shm|tcp|tcp-enc|spark|spark-crypto DIR BLOCK_BYTES BLOCKS [ARENA_PATH ARENA_BYTES]};
 * {@code tcp-enc} requires encryption (AES-GCM records keyed from {@link #SECRET}), {@code spark-crypto} runs Spark's
 * {@code spark.network.crypto} (its auth bootstrap, then AES over the channel) with the same secret.
 */
public final class FetchPeer {
  static final String READY = "READY ";
  static final String NAMESPACE = "bench";
  static final String APP_ID = "vrdma-bench-app";
  /** The shared secret of the encrypted paths (a benchmark's, not a credential). */
  static final String SECRET = "vrdma-fetch-benchmark-secret";

  private FetchPeer() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    Path dir = Path.of(args[1]);
    BlockLayout layout = BlockLayout.of(Integer.parseInt(args[2]), Integer.parseInt(args[3]));
    if (mode.startsWith("spark")) {
      serveSpark(dir, layout, mode.equals("spark-crypto"));
    } else {
      serveVrdma(mode, dir, layout, args[4], Long.parseLong(args[5]));
    }
  }

  private static void serveVrdma(String tier, Path dir, BlockLayout layout, String arena, long arenaBytes)
      throws Exception {
    boolean encrypt = tier.equals("tcp-enc");
    try (TransportNode node = TransportNode.start(Peers.vrdmaConf(tier, arena, arenaBytes, layout.blockBytes()));
        BlockServer server = new BlockServer(node, BlockConf.defaults(), encrypt)) {
      server.createNamespace(NAMESPACE, encrypt ? SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8) : null);
      for (int map = 0; map < layout.files(); map++) {
        List<BlockSegment> segments = new ArrayList<>();
        for (int reduce = 0; reduce < layout.blocksIn(map); reduce++) {
          segments.add(new BlockSegment(BlockLayout.blockId(map, reduce), (long) reduce * layout.blockBytes(),
              layout.blockBytes()));
        }
        server.publish(NAMESPACE, layout.file(dir, map), segments);
      }
      readyThenWait(node.advertisement().port());
    }
  }

  private static void serveSpark(Path dir, BlockLayout layout, boolean crypto) throws Exception {
    TransportConf conf = Peers.sparkConf(crypto);
    BlockRpcHandler handler = new BlockRpcHandler(conf, dir, layout);
    try (TransportContext context = new TransportContext(conf, handler);
        TransportServer server = context.createServer("127.0.0.1", 0, crypto
            ? List.of(new org.apache.spark.network.crypto.AuthServerBootstrap(conf, Peers.SECRETS)) : List.of())) {
      readyThenWait(server.getPort());
    }
  }

  private static void readyThenWait(int port) throws IOException {
    System.out.println(READY + port);
    System.out.flush();
    InputStream in = System.in;
    while (in.read() >= 0) {
      // serve until the benchmark closes our standard input (or dies)
    }
  }

  /**
   * What Spark's {@code NettyBlockRpcServer} does for a fetch: decode {@code OpenBlocks} or {@code
   * FetchShuffleBlocks}, open each block as a {@link FileSegmentManagedBuffer} of its data file (as {@code
   * IndexShuffleBlockResolver.getBlockData} does), register them as one stream with the {@link
   * OneForOneStreamManager} and answer its {@link StreamHandle}; the client then pulls the chunks.
   */
  static final class BlockRpcHandler extends RpcHandler {
    private final OneForOneStreamManager streams = new OneForOneStreamManager();
    private final TransportConf conf;
    private final Path dir;
    private final BlockLayout layout;

    BlockRpcHandler(TransportConf conf, Path dir, BlockLayout layout) {
      this.conf = conf;
      this.dir = dir;
      this.layout = layout;
    }

    @Override
    public void receive(TransportClient client, ByteBuffer message, RpcResponseCallback callback) {
      BlockTransferMessage decoded = BlockTransferMessage.Decoder.fromByteBuffer(message);
      List<ManagedBuffer> blocks = new ArrayList<>();
      if (decoded instanceof FetchShuffleBlocks fetch) {
        for (int i = 0; i < fetch.mapIds.length; i++) {
          for (int reduce : fetch.reduceIds[i]) {
            blocks.add(block((int) fetch.mapIds[i], reduce));
          }
        }
      } else if (decoded instanceof OpenBlocks open) {
        for (String id : open.blockIds) {
          String[] parts = id.split("_");
          blocks.add(block(Integer.parseInt(parts[2]), Integer.parseInt(parts[3])));
        }
      } else {
        callback.onFailure(new UnsupportedOperationException("unexpected message " + decoded));
        return;
      }
      long streamId = streams.registerStream(APP_ID, blocks.iterator(), client.getChannel(), true);
      callback.onSuccess(new StreamHandle(streamId, blocks.size()).toByteBuffer());
    }

    private ManagedBuffer block(int map, int reduce) {
      File file = layout.file(dir, map).toFile();
      return new FileSegmentManagedBuffer(conf, file, (long) reduce * layout.blockBytes(), layout.blockBytes());
    }

    @Override
    public StreamManager getStreamManager() {
      return streams;
    }
  }

  /** Settings shared by both ends. */
  static final class Peers {
    private Peers() {}

    /** A transport node forced to one tier, on loopback; {@code arena} is used by the shm tier only. */
    static io.vrdma.transport.config.TransportConf vrdmaConf(String tier, String arena, long arenaBytes,
        int blockBytes) {
      Map<String, String> s = new java.util.HashMap<>();
      s.put(io.vrdma.transport.config.TransportConf.HOST.name(), "127.0.0.1");
      s.put(io.vrdma.transport.config.TransportConf.TIERS.name(), tier.equals("tcp-enc") ? "tcp" : tier);
      s.put(io.vrdma.transport.config.TransportConf.ENCRYPTION_REQUIRED.name(), Boolean.toString(tier.equals("tcp-enc")));
      s.put(io.vrdma.transport.config.TransportConf.POOL_MAX_BUFFER.name(),
          Integer.toString(Math.max(1 << 20, blockBytes)));
      s.put(io.vrdma.transport.config.TransportConf.POOL_MAX_BYTES.name(), "1g");
      if (tier.equals("shm")) {
        s.put(io.vrdma.transport.config.TransportConf.SHM_ARENA_PATH.name(), arena);
        s.put(io.vrdma.transport.config.TransportConf.SHM_ARENA_BYTES.name(), Long.toString(arenaBytes));
      }
      return io.vrdma.transport.config.TransportConf.fromMap(s);
    }

    /** Spark's shuffle transport settings as {@code SparkTransportConf.fromSparkConf} gives them by default. */
    static TransportConf sparkConf() {
      return sparkConf(false);
    }

    /**
     * The same, with {@code spark.network.crypto.enabled} when {@code crypto}: Spark's own wire encryption at its
     * defaults (the auth protocol's key agreement, then the channel encrypted with AES, as with
     * {@code spark.authenticate} and {@code spark.network.crypto.enabled=true}).
     */
    static TransportConf sparkConf(boolean crypto) {
      // SparkTransportConf sets both thread counts to NettyUtils.defaultNumThreads(0): min(cores, 8)
      String threads = Integer.toString(Math.min(Runtime.getRuntime().availableProcessors(), 8));
      Map<String, String> settings = new java.util.HashMap<>(Map.of("spark.shuffle.io.serverThreads", threads,
          "spark.shuffle.io.clientThreads", threads));
      if (crypto) {
        settings.put("spark.network.crypto.enabled", "true");
      }
      return new TransportConf("shuffle", new MapConfigProvider(settings));
    }

    /** Spark's secret lookup, answering the benchmark's one secret. */
    static final org.apache.spark.network.sasl.SecretKeyHolder SECRETS = new org.apache.spark.network.sasl.SecretKeyHolder() {
      @Override
      public String getSaslUser(String appId) {
        return "sparkSaslUser";
      }

      @Override
      public String getSecretKey(String appId) {
        return SECRET;
      }
    };
  }
}
