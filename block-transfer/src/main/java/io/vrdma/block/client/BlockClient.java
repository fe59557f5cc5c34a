package io.vrdma.block.client;

import io.vrdma.block.BlockConf;
import io.vrdma.transport.TransportNode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Fetches batches of blocks from peers' {@link io.vrdma.block.server.BlockServer}s: one locate round trip per
 * batch, then one read per <em>run</em> (blocks asked for one after another that lie back to back on the peer),
 * each block delivered to the listener as its run completes.
 *
 * <p>The pieces, each readable alone: {@link PeerSession} (a connection per peer, made and proven on the connect
 * threads), {@link FetchCall} (one call's locates, deferrals, retries and listener), {@link RunRead} (one run over
 * the tiers, cut into blocks, checksummed), {@link FlowControl} (bytes and reads in flight), {@link LeaseReturns}
 * (staged space given back to the servers), {@link SpillFiles} (blocks larger than a pooled buffer) and
 * {@link ClientThreads}, which says which thread runs what.
 *
 * <p>Memory is bounded by {@link BlockConf}'s in-flight limits; an exhausted buffer pool makes a read wait, never
 * fail. A read that fails on a tier is tried on the next tier the run is placed on (shm → verbs → tcp) without the
 * caller seeing it; when every tier failed, its blocks are located again with backoff on a fresh connection, and
 * only then reported. A block whose CRC32C does not match is fetched once more, then reported as corrupt; it is
 * never delivered. A peer {@linkplain #peerGone declared gone} fails its blocks at once.
 */
public final class BlockClient implements AutoCloseable {
  /** Peers declared gone that are remembered, so that a late fetch to one fails at once; the oldest go first. */
  private static final int MAX_GONE_PEERS = 4096;

  private final ClientContext context;
  private final Map<String, PeerSession> sessions = new ConcurrentHashMap<>();
  private final Set<String> gonePeers = Collections.synchronizedSet(Collections.newSetFromMap(
      new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > MAX_GONE_PEERS;
        }
      }));

  public BlockClient(TransportNode node, BlockConf conf) {
    FlowControl flow = new FlowControl(conf.get(BlockConf.MAX_BYTES_IN_FLIGHT),
        conf.get(BlockConf.MAX_REQUESTS_IN_FLIGHT), conf.get(BlockConf.MAX_BYTES_IN_FLIGHT_PER_PEER),
        conf.get(BlockConf.MAX_REQUESTS_IN_FLIGHT_PER_PEER));
    ClientThreads threads = new ClientThreads((int) (long) conf.get(BlockConf.CLIENT_THREADS));
    this.context = new ClientContext(node, conf, threads, flow, new LeaseReturns(threads.work),
        new SpillFiles(conf.get(BlockConf.SPILL_DIR)), new BlockClientMetrics(), conf.get(BlockConf.SHM_IN_PLACE));
  }

  /** Counters of what this client moved, per tier, and of its retries, fallbacks and failures. */
  public BlockClientMetrics metrics() {
    return context.metrics();
  }

  /** Bytes of blocks being read right now (bounded by the in-flight limits). */
  public long bytesInFlight() {
    return context.flow().bytesInFlight();
  }

  /** The directories blocks larger than a pooled buffer are assembled in. */
  public List<java.nio.file.Path> spillDirs() {
    return context.spills().dirs();
  }

  /**
   * Fetches blocks of one namespace from the block server of the node at {@code host:port}. Returns at
   * once; the listener hears of every block exactly once (on one of the client's work threads), and the future
   * completes after the last.
   *
   * @param secret the namespace's shared secret, or null when the server does not authenticate
   */
  public CompletableFuture<Void> fetch(String host, int port, String namespace, byte[] secret, List<String> blockIds,
      BlockFetchListener listener) {
    // a connection proven with one secret is never lent to a caller holding another (or none)
    String peer = host + ":" + port;
    String sessionKey = peer + "#" + fingerprint(secret);
    PeerSession session = sessions.computeIfAbsent(sessionKey, k -> {
      PeerSession s = new PeerSession(context.node(), host, port, context.threads().connects);
      if (gonePeers.contains(peer)) {
        s.markGone("declared gone earlier");
      }
      return s;
    });
    FetchCall call = new FetchCall(context, session, namespace, secret, listener, blockIds.size());
    if (!blockIds.isEmpty()) {
      context.threads().execute(() -> call.start(List.copyOf(blockIds), 0));
    }
    return call.done;
  }

  /**
   * Declares the peer at {@code host:port} gone (its executor was removed): its connections close, and its blocks
   * — those in flight and any asked for later — fail at once, without connect attempts or retries.
   */
  public void peerGone(String host, int port, String why) {
    String peer = host + ":" + port;
    gonePeers.add(peer);
    for (Map.Entry<String, PeerSession> e : sessions.entrySet()) {
      if (e.getKey().startsWith(peer + "#")) {
        e.getValue().markGone(why);
        sessions.remove(e.getKey(), e.getValue());
      }
    }
  }

  private static String fingerprint(byte[] secret) {
    if (secret == null) {
      return "none";
    }
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(secret));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable in this JVM", e);
    }
  }

  /** Closes the client's connections; fetches in flight fail. The transport node stays the caller's. */
  @Override
  public void close() {
    context.threads().close();
    sessions.values().forEach(PeerSession::close);
    sessions.clear();
  }
}
