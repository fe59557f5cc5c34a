package io.vrdma.block.server;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockException.MalformedMessageException;
import io.vrdma.block.BlockSegment;
import io.vrdma.block.protocol.ChannelEncryption;
import io.vrdma.block.protocol.Messages;
import io.vrdma.block.protocol.Messages.AuthChallenge;
import io.vrdma.block.protocol.Messages.AuthProof;
import io.vrdma.block.protocol.Messages.Checksums;
import io.vrdma.block.protocol.Messages.Locate;
import io.vrdma.block.protocol.Messages.NamespaceRequest;
import io.vrdma.block.protocol.Messages.Release;
import io.vrdma.block.protocol.Messages.Request;
import io.vrdma.block.protocol.SecretProof;
import io.vrdma.transport.InboundConnection;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Registration;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportNode;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes named blocks (segments of files written once) on a transport node and answers peers'
 * locate requests with the blocks' places. Blocks live in namespaces — one per application and
 * shuffle, or per job — that are dropped at once, freeing every registration and window byte.
 *
 * <p>Published blocks stay in their files: the tiers that serve files in place (tcp) register each file
 * segment once at publish, and the staging tiers (shm, verbs) get a block only while a reader holds it, through
 * the server's {@link StagingWindow} — a window of fixed size, whatever the size of the shuffle.
 *
 * <p>With authentication on, every namespace has a secret, and a connection must prove it (see
 * {@link SecretProof}) before the server answers anything about that namespace; places go only to
 * connections authenticated for the block's namespace, and the node's tcp and verbs reads are limited to the
 * regions of those namespaces. Anything unauthenticated or malformed closes that connection with one
 * log line; other connections are served on. A request about a namespace this server does not serve (never
 * created, or dropped) is not a fault of the connection: that request alone fails with an
 * {@link UnknownNamespaceException}'s message, and the connection — shared by callers of other namespaces —
 * serves on. (A locate in a namespace the connection may ask about — proven before it was dropped, or no
 * authentication — is answered as usual, every block not found.)
 *
 * <p>Threads: requests are decoded and answered on the transport's event loops; placing blocks and computing
 * checksums (file reads, copies) run on the staging window's own threads. {@link #publish} runs on the caller's
 * thread and only registers file segments with the in-place tiers (no copy, no read).
 */
public final class BlockServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BlockServer.class);
  private static final String AUTHENTICATED = "vrdma.block.authenticated";
  private static final String NONCES = "vrdma.block.nonces";

  private final TransportNode node;
  private final boolean authenticate;
  private final Set<Tier> inPlaceTiers;
  private final StagingWindow window;
  private final Map<String, Namespace> namespaces = new ConcurrentHashMap<>();
  /** The namespace of each registration, by the descriptors whose reads the transport asks us about. */
  private final Map<ServedKey, String> byKey = new ConcurrentHashMap<>();
  private final ServingMetrics serving = new ServingMetrics();

  /**
   * @param authenticate whether every namespace needs a secret and every connection must prove it
   */
  public BlockServer(TransportNode node, BlockConf conf, boolean authenticate) {
    this.node = node;
    this.authenticate = authenticate;
    this.window = new StagingWindow(node, conf,
        (block, staged) -> ServedKey.of(staged).forEach(k -> byKey.put(k, block.namespace)),
        (block, staged) -> ServedKey.of(staged).forEach(byKey::remove));
    Set<Tier> inPlace = EnumSet.noneOf(Tier.class);
    for (Tier t : Tier.values()) {
      if (node.has(t) && !window.stages(t)) {
        inPlace.add(t);
      }
    }
    this.inPlaceTiers = inPlace;
    node.setControlHandler(this::handle);
    node.setReadAuthorizer(this::mayRead);
  }

  /** The transport node the blocks are served from. */
  public TransportNode node() {
    return node;
  }

  /** What the staging window has done: blocks staged, waits for room, tcp fallbacks, leases taken back. */
  public StagingMetrics stagingMetrics() {
    return window.metrics();
  }

  /** What this server located for readers, per tier, and what it refused. */
  public ServingMetrics servingMetrics() {
    return serving;
  }

  /** Staged blocks that readers hold right now. */
  public int leasesHeld() {
    return window.leasesHeld();
  }

  /** Bytes of the staged blocks that readers hold right now (the staging window's use). */
  public long bytesHeld() {
    return window.bytesHeld();
  }

  /**
   * Creates a namespace.
   *
   * @param secret the namespace's shared secret; required when authentication is on, ignored otherwise
   */
  public void createNamespace(String namespace, byte[] secret) {
    if (authenticate && (secret == null || secret.length == 0)) {
      throw new IllegalArgumentException("namespace " + namespace + " needs a secret: authentication is on");
    }
    if (namespaces.putIfAbsent(namespace, new Namespace(namespace, secret == null ? null : secret.clone())) != null) {
      throw new IllegalArgumentException("namespace " + namespace + " exists already");
    }
  }

  /**
   * Publishes blocks that lie in one file. The file segment covering them is registered once on the tiers that
   * serve files in place (tcp); nothing is read or copied: the staging tiers take a block when a reader asks.
   */
  public void publish(String namespace, Path file, List<BlockSegment> blocks) throws TransportException {
    Namespace ns = namespace(namespace);
    if (blocks.isEmpty()) {
      return;
    }
    long start = blocks.stream().mapToLong(BlockSegment::fileOffset).min().getAsLong();
    long end = blocks.stream().mapToLong(b -> b.fileOffset() + b.length()).max().getAsLong();
    Registration registration = registerInPlace(file, start, end);
    List<ServedBlock> published = new ArrayList<>(blocks.size());
    for (BlockSegment b : blocks) {
      published.add(new ServedBlock(b.blockId(), namespace, file, b.fileOffset(), b.length(), registration,
          b.fileOffset() - start));
    }
    add(ns, registration, n -> published.forEach(b -> n.blocks.put(b.id, b)));
  }

  /**
   * Publishes a file whose blocks lie back to back from its first byte and are named {@code idPrefix + i}, i from 0
   * to {@code lengths.length - 1} (a Spark map output: prefix {@code shuffle_0_5_}, one block per reduce partition,
   * empty ones included). One entry for the file, none per block, so that a map task with thousands of reducers
   * pays nothing per block here; a block's entry is made when a reader first asks for it. Otherwise as
   * {@link #publish}.
   *
   * @throws IllegalArgumentException when {@code idPrefix} ends in a digit (its ids could not be told apart)
   */
  public void publishNumbered(String namespace, Path file, String idPrefix, long[] lengths) throws TransportException {
    if (idPrefix.isEmpty() || Character.isDigit(idPrefix.charAt(idPrefix.length() - 1))) {
      throw new IllegalArgumentException("block id prefix '" + idPrefix + "' must not be empty or end in a digit");
    }
    Namespace ns = namespace(namespace);
    if (lengths.length == 0) {
      return;
    }
    long[] offsets = NumberedFile.offsets(lengths);
    Registration registration = registerInPlace(file, 0, offsets[lengths.length]);
    NumberedFile published = new NumberedFile(namespace, file, offsets, registration);
    add(ns, registration, n -> n.numbered.put(idPrefix, published));
  }

  private Namespace namespace(String namespace) {
    Namespace ns = namespaces.get(namespace);
    if (ns == null) {
      throw new IllegalArgumentException("no namespace " + namespace + " (create it first)");
    }
    return ns;
  }

  /** The file segment registered on the tiers that serve files in place, or null when the node has none. */
  private Registration registerInPlace(Path file, long start, long end) throws TransportException {
    return inPlaceTiers.isEmpty() ? null
        : node.register(RegionSource.fileSegment(file, start, end - start), inPlaceTiers);
  }

  private void add(Namespace ns, Registration registration, java.util.function.Consumer<Namespace> entries) {
    // known to the read authorizer before any peer can locate it
    if (registration != null) {
      ServedKey.of(registration).forEach(k -> byKey.put(k, ns.name));
    }
    if (!ns.add(registration, entries)) {
      if (registration != null) {
        ServedKey.of(registration).forEach(byKey::remove);
        registration.close();
      }
      throw new IllegalStateException("namespace " + ns.name + " was dropped while publishing");
    }
  }

  /** Drops a namespace: its blocks disappear and every registration and window byte they held is freed. */
  public void dropNamespace(String namespace) {
    Namespace ns = namespaces.remove(namespace);
    if (ns != null) {
      for (Registration r : ns.drop()) {
        ServedKey.of(r).forEach(byKey::remove);
        r.close();
      }
      window.dropNamespace(namespace);
    }
  }

  /** Namespaces currently served. */
  public Set<String> namespaces() {
    return Set.copyOf(namespaces.keySet());
  }

  private CompletableFuture<ByteBuffer> handle(InboundConnection peer, ByteBuffer message) {
    Request decoded;
    try {
      decoded = Messages.decodeRequest(message);
    } catch (MalformedMessageException e) {
      return refuse(peer, e.getMessage());
    }
    if (decoded instanceof Release release) {
      window.release(peer, release.leases());
      return CompletableFuture.completedFuture(ByteBuffer.allocate(0));
    }
    NamespaceRequest request = (NamespaceRequest) decoded;
    Namespace ns = namespaces.get(request.namespace());
    if (ns == null && !(request instanceof Locate && mayAccess(peer, request.namespace()))) {
      // not the peer's fault: a namespace dropped meanwhile, or one this node never had (a reader sent to the
      // wrong executor); the connection stays, since other callers' namespaces share it. A locate the peer may
      // make (proven, or no authentication) is answered as before: every block not found.
      return unknownNamespace(peer, request.namespace());
    }
    if (request instanceof AuthChallenge) {
      if (ns.secret == null) {
        return refuse(peer, "authentication asked for namespace " + request.namespace() + ", which has no secret here");
      }
      byte[] nonce = SecretProof.newNonce();
      nonces(peer).put(request.namespace(), nonce);
      return CompletableFuture.completedFuture(ByteBuffer.wrap(nonce));
    }
    if (request instanceof AuthProof proof) {
      byte[] nonce = nonces(peer).remove(request.namespace());
      if (ns.secret == null || nonce == null
          || !SecretProof.verify(ns.secret, request.namespace(), nonce, proof.mac())) {
        return refuse(peer, "wrong or unrequested proof of the secret of namespace " + request.namespace());
      }
      if (node.security().encryptionRequired() && proof.clientNonce() == null && !peer.encrypted()) {
        return refuse(peer, ChannelEncryption.unencryptedRefusal(request.namespace()));
      }
      byte answer = ChannelEncryption.serverAnswer(peer, ns.secret, request.namespace(), nonce, proof.clientNonce());
      authenticated(peer).add(request.namespace());
      return CompletableFuture.completedFuture(ByteBuffer.wrap(new byte[] {answer}));
    }
    if (node.security().encryptionRequired() && !peer.encrypted()) {
      return refuse(peer, ChannelEncryption.unencryptedRefusal(request.namespace()));
    }
    if (!mayAccess(peer, request.namespace())) {
      return refuse(peer, "unauthenticated request for namespace " + request.namespace());
    }
    if (request instanceof Checksums asked) {
      return window.checksums(find(ns, asked.blockIds())).thenApply(Messages::checksumsAnswer);
    }
    Locate locate = (Locate) request;
    List<ServedBlock> blocks = find(ns, locate.blockIds());
    return window.locate(peer, locate.tier(), locate.maxRunBytes(), locate.maxInlineBytes(), blocks)
        .thenApply(answer -> {
          serving.located(locate.tier(), answer);
          return Messages.locateAnswer(answer);
        });
  }

  private static List<ServedBlock> find(Namespace ns, List<String> ids) {
    List<ServedBlock> blocks = new ArrayList<>(ids.size());
    for (String id : ids) {
      blocks.add(ns == null ? null : ns.find(id));
    }
    return blocks;
  }

  private boolean mayAccess(InboundConnection peer, String namespace) {
    return !authenticate || authenticated(peer).contains(namespace);
  }

  /** A region of a namespace the peer has not proven is refused; an unknown one is left to "not registered". */
  private boolean mayRead(InboundConnection peer, RegionDescriptor descriptor) {
    if (authenticate && authenticated(peer).isEmpty()) {
      return false;
    }
    String ns = byKey.get(new ServedKey(descriptor.tier(), descriptor.key()));
    return ns == null || mayAccess(peer, ns);
  }

  /** Fails one request about a namespace this server does not serve; the connection serves on. */
  private CompletableFuture<ByteBuffer> unknownNamespace(InboundConnection peer, String namespace) {
    serving.unknownNamespace();
    LOG.debug("block request from {} for namespace {}, which is not served here", peer.remoteAddress(), namespace);
    return CompletableFuture.failedFuture(new UnknownNamespaceException(namespace));
  }

  private CompletableFuture<ByteBuffer> refuse(InboundConnection peer, String why) {
    serving.refused();
    LOG.warn("closing block connection from {}: {}", peer.remoteAddress(), why);
    peer.close();
    return CompletableFuture.failedFuture(new MalformedMessageException(why));
  }

  @SuppressWarnings("unchecked")
  private static Set<String> authenticated(InboundConnection peer) {
    return (Set<String>) peer.attributes().computeIfAbsent(AUTHENTICATED, k -> ConcurrentHashMap.newKeySet());
  }

  @SuppressWarnings("unchecked")
  private static Map<String, byte[]> nonces(InboundConnection peer) {
    return (Map<String, byte[]>) peer.attributes().computeIfAbsent(NONCES, k -> new ConcurrentHashMap<String, byte[]>());
  }

  /** Drops every namespace and stops staging. The transport node stays the caller's. */
  @Override
  public void close() {
    for (String ns : List.copyOf(namespaces.keySet())) {
      dropNamespace(ns);
    }
    window.close();
  }

  /**
   * A registration's key on a tier whose reads pass through the read authorizer: tcp and rsocket reads, and verbs reads
   * (whose descriptors the owner confirms before the first one-sided read). Shm reads never reach the owner.
   */
  private record ServedKey(Tier tier, long key) {
    static List<ServedKey> of(Registration registration) {
      List<ServedKey> keys = new ArrayList<>(3);
      for (Tier tier : List.of(Tier.TCP, Tier.RSOCKET, Tier.VERBS)) {
        registration.descriptor(tier).ifPresent(d -> keys.add(new ServedKey(tier, d.key())));
      }
      return keys;
    }
  }

  private static final class Namespace {
    final String name;
    final byte[] secret;
    final Map<String, ServedBlock> blocks = new ConcurrentHashMap<>();
    /** Files published with {@link #publishNumbered}, by their blocks' id prefix. */
    final Map<String, NumberedFile> numbered = new ConcurrentHashMap<>();
    private final List<Registration> registrations = new ArrayList<>();
    private boolean dropped;

    Namespace(String name, byte[] secret) {
      this.name = name;
      this.secret = secret;
    }

    synchronized boolean add(Registration registration, java.util.function.Consumer<Namespace> entries) {
      if (dropped) {
        return false;
      }
      if (registration != null) {
        registrations.add(registration);
      }
      entries.accept(this);
      return true;
    }

    /** The block named {@code id}, or null when this namespace has none. */
    ServedBlock find(String id) {
      ServedBlock block = blocks.get(id);
      if (block != null || numbered.isEmpty()) {
        return block;
      }
      int digits = id.length();
      while (digits > 0 && Character.isDigit(id.charAt(digits - 1))) {
        digits--;
      }
      if (digits == id.length() || id.length() - digits > 9 || (id.charAt(digits) == '0' && digits < id.length() - 1)) {
        return null; // no number, one too large, or a leading zero: not a name publishNumbered gives
      }
      NumberedFile file = numbered.get(id.substring(0, digits));
      return file == null ? null : file.block(Integer.parseInt(id, digits, id.length(), 10), id);
    }

    synchronized List<Registration> drop() {
      dropped = true;
      blocks.clear();
      numbered.clear();
      return List.copyOf(registrations);
    }
  }
}
