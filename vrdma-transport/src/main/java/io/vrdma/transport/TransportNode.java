package io.vrdma.transport;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.vrdma.transport.TransportException.ResourceFullException;
import io.vrdma.transport.buffer.BufferPool;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.rsocket.RsocketProbe;
import io.vrdma.transport.security.WireSecurity;
import io.vrdma.transport.shm.ShmTier;
import io.vrdma.transport.tcp.Frames;
import io.vrdma.transport.tcp.TcpClientChannel;
import io.vrdma.transport.tcp.TcpRegistrations;
import io.vrdma.transport.tcp.TcpServerHandler;
import io.vrdma.transport.tcp.TcpTier;
import io.vrdma.transport.tcp.TcpTransport;
import io.vrdma.transport.tier.DataPath;
import io.vrdma.transport.tier.FaultInjectingPath;
import io.vrdma.transport.tier.TierAvailability;
import io.vrdma.transport.tier.TierProvider;
import io.vrdma.transport.tier.TierRegistration;
import io.vrdma.transport.tier.TierSelector;
import io.vrdma.transport.verbs.VerbsTier;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One process's end of the transport: it probes the tiers, serves its registered regions and control
 * messages, and connects to peers. Start one per process (a Spark executor, a NodeManager, a reduce
 * task) with {@link #start}, and close it when the process is done.
 *
 * <p>A serving node runs a control server on the host network; the tiers decide only how the bytes of a
 * read move. A process that only reads (a reduce task) starts a client-only node with {@link #startClient}: no
 * socket listens, and it holds no slot in the shm arena. A tier that cannot work on this node is logged with its
 * reason and left out of the node's advertisement, so peers never choose it: nothing fails because a faster tier
 * is missing.
 */
public final class TransportNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TransportNode.class);

  private final TransportConf conf;
  private final long nodeId;
  private final BufferPool bufferPool;
  private final TcpRegistrations tcpRegistrations = new TcpRegistrations();
  private final TcpTransport tcp;
  private final Map<Tier, TierProvider> providers = new EnumMap<>(Tier.class);
  private final List<TierAvailability> availability = new ArrayList<>();
  private final NodeAdvertisement advertisement;
  private final WireSecurity security;
  /** False for a client-only node: it connects and reads, and has nothing to serve. */
  private final boolean serving;
  private volatile ControlHandler controlHandler;
  private volatile ReadAuthorizer readAuthorizer;
  private final Set<NodeConnection> connections = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  private TransportNode(TransportConf conf, boolean serving) throws TransportException {
    this.conf = conf;
    this.serving = serving;
    this.security = WireSecurity.of(conf);
    this.nodeId = new SecureRandom().nextLong();
    this.bufferPool = new BufferPool(conf.getInt(TransportConf.POOL_MAX_BUFFER), conf.get(TransportConf.POOL_MAX_BYTES),
        conf.get(TransportConf.POOL_LEAK_DETECTION));
    String host = resolveHost(conf.get(TransportConf.HOST));
    this.tcp = serving ? TcpTransport.start(conf, host, serverChannels()) : TcpTransport.startClientOnly(conf);
    try {
      for (Tier tier : Tier.values()) {
        String forbidden = security.whyTierOff(tier);
        availability.add(!conf.tiers().contains(tier)
            ? TierAvailability.unavailable(tier, "not in " + TransportConf.TIERS.name(), null)
            : forbidden != null ? TierAvailability.unavailable(tier, forbidden, null) : probe(tier));
      }
      Map<Tier, byte[]> advertised = new LinkedHashMap<>();
      for (Tier tier : conf.tiers()) {
        TierProvider p = providers.get(tier);
        if (p != null) {
          advertised.put(tier, p.advertisedInfo());
        }
      }
      this.advertisement = new NodeAdvertisement(nodeId, host, serving ? tcp.localAddress().getPort() : 0,
          advertised);
    } catch (RuntimeException e) {
      closeProviders();
      tcp.close();
      throw e;
    }
    if (!conf.get(TransportConf.FAULT_TIER).isEmpty()) {
      LOG.warn("fault injection is ON for tier {} ({}): for tests only", conf.get(TransportConf.FAULT_TIER),
          conf.toMap().entrySet().stream().filter(e -> e.getKey().contains(".fault.")).toList());
    }
    LOG.info("vRDMA transport {}{}: {}", advertisement, serving ? "" : " (client only: serves nothing)",
        availability.stream().map(TierAvailability::toString).collect(Collectors.joining("; ")));
    String securityLine = security.startupLine(availability);
    if (securityLine != null) {
      LOG.info("vRDMA transport {}: {}", advertisement, securityLine);
    }
  }

  /** The pipeline of each connection a peer opens to this node's control server. */
  private ChannelInitializer<SocketChannel> serverChannels() {
    int maxFrame = conf.getInt(TransportConf.TCP_MAX_FRAME);
    boolean copyFiles = TcpTransport.copyFiles(conf);
    return new ChannelInitializer<>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline()
            .addLast("frames", new LengthFieldBasedFrameDecoder(maxFrame, 0, Integer.BYTES, 0, Integer.BYTES))
            .addLast("vrdma-server", new TcpServerHandler(TransportNode.this::advertisement,
                () -> controlHandler, tcpRegistrations, () -> readAuthorizer,
                () -> providers.get(Tier.VERBS) instanceof VerbsTier v ? v::check : null,
                security.encryptionRequired(), copyFiles));
      }
    };
  }

  /**
   * Starts a node: probes the tiers, attaches the arena, starts the control server.
   *
   * @throws TransportException when the control server cannot listen (the only tier-independent need)
   */
  public static TransportNode start(TransportConf conf) throws TransportException {
    return new TransportNode(conf, true);
  }

  /**
   * Starts a node that only reads from peers: the tiers are probed as for {@link #start}, but no control server
   * listens (its advertisement's port is 0), the shm arena is attached for reading only (no process slot, no
   * heartbeat), and {@link #register} refuses. Lighter to start, and nothing for peers or operators to reach:
   * what a short-lived reader such as a MapReduce reduce task needs.
   *
   * @throws TransportException when the event loops cannot start
   */
  public static TransportNode startClient(TransportConf conf) throws TransportException {
    return new TransportNode(conf, false);
  }

  /** Whether this node serves its registrations and control requests (false for {@link #startClient}). */
  public boolean serving() {
    return serving;
  }

  private TierAvailability probe(Tier tier) {
    try {
      TierProvider provider = switch (tier) {
        case SHM -> serving ? ShmTier.open(conf) : ShmTier.openForReading(conf);
        case TCP -> new TcpTier(nodeId, tcpRegistrations, tcp.detail());
        case VERBS -> openVerbs();
        case RSOCKET -> openRsocket();
      };
      providers.put(tier, provider);
      return TierAvailability.available(tier, provider.detail());
    } catch (TransportException | RuntimeException e) {
      return TierAvailability.unavailable(tier, e.getMessage(), e);
    }
  }

  /** The tcp tier's code, advertised as rsocket, when this JVM's sockets are rsockets (see {@link RsocketProbe}). */
  private TierProvider openRsocket() throws TransportException {
    TierAvailability found =
        RsocketProbe.probe(RsocketProbe.Environment.current(conf.get(TransportConf.RSOCKET_RPOLL_FIXED)));
    if (!found.available()) {
      throw new TransportException(found.detail());
    }
    return new TcpTier(Tier.RSOCKET, nodeId, tcpRegistrations, found.detail());
  }

  private TierProvider openVerbs() throws TransportException {
    try {
      return VerbsTier.open(conf, nodeId, bufferPool);
    } catch (LinkageError e) {
      // a plugin jar without DiSNI (the Spark plugin leaves it to the operator): the tier is off, not the node
      throw new TransportException("the DiSNI jar (com.ibm.disni:disni:2.1) is not on the class path: " + e, e);
    }
  }

  private static String resolveHost(String configured) throws TransportException {
    if (!configured.isEmpty()) {
      return configured;
    }
    try {
      return InetAddress.getLocalHost().getHostAddress();
    } catch (UnknownHostException e) {
      throw new TransportException("cannot resolve the local host name; set " + TransportConf.HOST.name(), e);
    }
  }

  /** This node's random identity. */
  public long nodeId() {
    return nodeId;
  }

  /** The configuration the node runs with. */
  public TransportConf conf() {
    return conf;
  }

  /** What this node tells peers: its address and the tiers it can use. */
  public NodeAdvertisement advertisement() {
    return advertisement;
  }

  /** Every tier's availability, with the reason for those that are off. */
  public List<TierAvailability> availability() {
    return Collections.unmodifiableList(availability);
  }

  /** Whether a tier works on this node. */
  public boolean has(Tier tier) {
    return providers.containsKey(tier);
  }

  /** What this node lets cross a network when encryption is required. */
  public WireSecurity security() {
    return security;
  }

  /** The node's registered receive buffers. */
  public BufferPool bufferPool() {
    return bufferPool;
  }

  /** The provider of a tier, for the tier's own diagnostics; null when the tier is off. */
  public TierProvider provider(Tier tier) {
    return providers.get(tier);
  }

  /** Sets who answers peers' control requests. */
  public void setControlHandler(ControlHandler handler) {
    this.controlHandler = handler;
  }

  /** Sets who decides which peers may read which regions over the tiers this node serves. */
  public void setReadAuthorizer(ReadAuthorizer authorizer) {
    this.readAuthorizer = authorizer;
  }

  /** Registers a region on every tier this node has. */
  public Registration register(RegionSource source) throws TransportException {
    return register(source, EnumSet.allOf(Tier.class));
  }

  /**
   * Registers a region on the given tiers among those this node has. A tier without room (a full
   * arena) is left out with one log line at debug level; the others still serve the region.
   *
   * @throws TransportException when no requested tier could register it
   */
  public Registration register(RegionSource source, Set<Tier> tiers) throws TransportException {
    ensureOpen();
    if (!serving) {
      throw new IllegalStateException("transport node " + Long.toHexString(nodeId) + " is client-only: it serves"
          + " no regions");
    }
    Map<Tier, TierRegistration> done = new EnumMap<>(Tier.class);
    TransportException last = null;
    for (Tier tier : conf.tiers()) {
      TierProvider provider = providers.get(tier);
      if (provider == null || !tiers.contains(tier)) {
        continue;
      }
      try {
        done.put(tier, provider.register(source));
      } catch (ResourceFullException e) {
        LOG.debug("{} not registered on {}: {}", source, tier.configName(), e.getMessage());
        last = e;
      } catch (TransportException e) {
        last = e;
      }
    }
    if (done.isEmpty()) {
      throw last != null ? last : new TransportException("none of the tiers " + tiers + " is available on "
          + advertisement + " to register " + source);
    }
    return new NodeRegistration(source.length(), done);
  }

  /**
   * Connects to a peer, learning its advertisement in the handshake, and chooses the tier for it.
   *
   * @throws TransportException.PeerUnavailableException when the peer cannot be reached
   * @throws TransportException.NoCommonTierException when the tiers configured allow none the peer has
   */
  public Connection connect(String host, int port) throws TransportException {
    ensureOpen();
    TcpClientChannel channel = tcp.connect(host, port);
    try {
      NodeAdvertisement peer = handshake(channel);
      Tier tier = TierSelector.choose(conf.tiers(), advertisement, peer);
      String why = TierSelector.whyNotPreferred(conf.tiers(), tier, advertisement, peer);
      if (!why.isEmpty()) {
        // once per connection: an operator sees why a pair of nodes runs on a slower tier than it has
        LOG.info("vRDMA transport: {} with {}; preferred tiers not usable with it: {}", tier.configName(), peer,
            why);
      }
      Map<Tier, DataPath> paths = new EnumMap<>(Tier.class);
      TransportException lastOpenFailure = null;
      for (Tier t : conf.tiers()) {
        if (providers.containsKey(t) && TierSelector.usableBetween(t, advertisement, peer)) {
          try {
            paths.put(t, withFaults(t, providers.get(t).open(peer, channel)));
          } catch (TransportException e) {
            // e.g. no verbs route to this peer: the next tier carries its reads
            LOG.warn("{} unusable with {}: {}", t.configName(), peer, e.getMessage());
            lastOpenFailure = e;
          }
        }
      }
      if (!paths.containsKey(tier)) {
        Tier next = conf.tiers().stream().filter(paths::containsKey).findFirst().orElse(null);
        if (next == null) {
          throw new TransportException("no tier's data path to " + peer + " opens: " + lastOpenFailure.getMessage(),
              lastOpenFailure);
        }
        tier = next;
      }
      NodeConnection connection = new NodeConnection(peer, tier, channel, paths, security.encryptionRequired());
      connections.add(connection);
      channel.closeFuture().thenRun(() -> connections.remove(connection));
      return connection;
    } catch (TransportException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private DataPath withFaults(Tier tier, DataPath path) {
    String faultTier = conf.get(TransportConf.FAULT_TIER);
    if (faultTier.isEmpty() || Tier.fromName(faultTier) != tier) {
      return path;
    }
    return new FaultInjectingPath(path, conf.get(TransportConf.FAULT_FAIL_EVERY),
        conf.get(TransportConf.FAULT_CORRUPT_EVERY), conf.get(TransportConf.FAULT_DELAY));
  }

  /** Connects to a peer whose advertisement is known (for instance from Spark's driver). */
  public Connection connect(NodeAdvertisement peer) throws TransportException {
    return connect(peer.host(), peer.port());
  }

  private NodeAdvertisement handshake(TcpClientChannel channel) throws TransportException {
    try {
      ByteBuffer answer = channel.request(Frames.HELLO, ByteBuffer.wrap(advertisement.toBytes()))
          .get(conf.connectTimeoutMillis(), TimeUnit.MILLISECONDS);
      return NodeAdvertisement.fromBytes(answer);
    } catch (TimeoutException e) {
      throw new TransportException.PeerUnavailableException("no handshake from " + channel + " within "
          + conf.connectTimeoutMillis() + " ms");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof TransportException te) {
        throw te;
      }
      throw new TransportException("handshake with " + channel + " failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TransportException("interrupted while connecting to " + channel);
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("transport node " + Long.toHexString(nodeId) + " is closed");
    }
  }

  /** Closes connections, frees every tier's registrations, stops the server and the event loops. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (NodeConnection c : List.copyOf(connections)) {
      c.close();
    }
    closeProviders();
    tcp.close();
    bufferPool.close();
  }

  private void closeProviders() {
    for (TierProvider p : providers.values()) {
      p.close();
    }
  }
}
