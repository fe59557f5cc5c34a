package io.vrdma.block.server;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockException.MalformedMessageException;
import io.vrdma.block.BlockSegment;
import io.vrdma.block.protocol.ChannelEncryption;
import io.vrdma.block.protocol.Messages;
import io.vrdma.block.protocol.Messages.AuthChallenge;
import io.vrdma.block.protocol.Messages.AuthProof;
import io.vrdma.block.protocol.Messages.Locate;
import io.vrdma.block.protocol.Messages.Location;
import io.vrdma.block.protocol.Messages.Request;
import io.vrdma.block.protocol.SecretProof;
import io.vrdma.transport.InboundConnection;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Registration;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes named blocks (segments of files written once) on a transport node and answers peers'
 * locate requests with the blocks' descriptors. Blocks live in namespaces — one per application and
 * shuffle, or per job — that are dropped at once, freeing every registration and arena byte.
 *
 * <p>With authentication on, every namespace has a secret, and a connection must prove it (see
 * {@link SecretProof}) before the server answers anything about that namespace; descriptors go only to
 * connections authenticated for the block's namespace, and the node's tcp reads are limited to the
 * regions of those namespaces. Anything unauthenticated or malformed closes that connection with one
 * log line; other connections are served on.
 */
public final class BlockServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BlockServer.class);
  private static final String AUTHENTICATED = "vrdma.block.authenticated";
  private static final String NONCES = "vrdma.block.nonces";

  private final TransportNode node;
  private final boolean authenticate;
  private final boolean checksum;
  private final Map<String, Namespace> namespaces = new ConcurrentHashMap<>();
  /** tcp registration key → namespace, for the read authorizer. */
  /** The namespace of each registration, by the descriptors whose reads the transport asks us about. */
  private final Map<ServedKey, Namespace> byKey = new ConcurrentHashMap<>();

  /**
   * @param authenticate whether every namespace needs a secret and every connection must prove it
   */
  public BlockServer(TransportNode node, BlockConf conf, boolean authenticate) {
    this.node = node;
    this.authenticate = authenticate;
    this.checksum = conf.get(BlockConf.CHECKSUM);
    node.setControlHandler(this::handle);
    node.setReadAuthorizer(this::mayRead);
  }

  /** The transport node the blocks are served from. */
  public TransportNode node() {
    return node;
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
   * Publishes blocks that lie in one file: the file segment covering them is registered once, on every
   * tier the node has (a full shm arena leaves it on the others), and each block is located in it.
   */
  public void publish(String namespace, Path file, List<BlockSegment> blocks) throws TransportException {
    Namespace ns = namespaces.get(namespace);
    if (ns == null) {
      throw new IllegalArgumentException("no namespace " + namespace + " (create it first)");
    }
    if (blocks.isEmpty()) {
      return;
    }
    long start = blocks.stream().mapToLong(BlockSegment::fileOffset).min().getAsLong();
    long end = blocks.stream().mapToLong(b -> b.fileOffset() + b.length()).max().getAsLong();
    Registration registration = node.register(RegionSource.fileSegment(file, start, end - start));
    List<PublishedBlock> published = new ArrayList<>(blocks.size());
    // a tier that copied the bytes (the shm arena) has them in memory: checksum that copy, not the file again
    ByteBuffer copy = checksum ? registration.copy().orElse(null) : null;
    try {
      try (FileChannel channel = checksum && copy == null ? FileChannel.open(file, StandardOpenOption.READ) : null) {
        for (BlockSegment b : blocks) {
          long offset = b.fileOffset() - start;
          Integer crc = !checksum ? null
              : copy != null ? crc32c(copy.slice((int) offset, (int) b.length()))
              : crc32c(channel, b.fileOffset(), b.length());
          published.add(new PublishedBlock(b.blockId(), registration, offset, b.length(), crc));
        }
      }
    } catch (IOException e) {
      registration.close();
      throw new TransportException("cannot checksum blocks of " + file + ": " + e, e);
    }
    // known to the read authorizer before any peer can locate it
    ServedKey.of(registration).forEach(k -> byKey.put(k, ns));
    if (!ns.add(registration, published)) {
      ServedKey.of(registration).forEach(byKey::remove);
      registration.close();
      throw new IllegalStateException("namespace " + namespace + " was dropped while publishing");
    }
  }

  /** Drops a namespace: its blocks disappear and every registration and arena byte they held is freed. */
  public void dropNamespace(String namespace) {
    Namespace ns = namespaces.remove(namespace);
    if (ns != null) {
      for (Registration r : ns.drop()) {
        ServedKey.of(r).forEach(byKey::remove);
        r.close();
      }
    }
  }

  /** Namespaces currently served. */
  public Set<String> namespaces() {
    return Set.copyOf(namespaces.keySet());
  }

  private CompletableFuture<ByteBuffer> handle(InboundConnection peer, ByteBuffer message) {
    Request request;
    try {
      request = Messages.decodeRequest(message);
    } catch (MalformedMessageException e) {
      return refuse(peer, e.getMessage());
    }
    Namespace ns = namespaces.get(request.namespace());
    if (request instanceof AuthChallenge) {
      if (ns == null || ns.secret == null) {
        return refuse(peer, "authentication asked for namespace " + request.namespace() + ", which has no secret here");
      }
      byte[] nonce = SecretProof.newNonce();
      nonces(peer).put(request.namespace(), nonce);
      return CompletableFuture.completedFuture(ByteBuffer.wrap(nonce));
    }
    if (request instanceof AuthProof proof) {
      byte[] nonce = nonces(peer).remove(request.namespace());
      if (ns == null || ns.secret == null || nonce == null
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
    Locate locate = (Locate) request;
    List<Location> answer = new ArrayList<>(locate.blockIds().size());
    for (String id : locate.blockIds()) {
      PublishedBlock b = ns == null ? null : ns.blocks.get(id);
      answer.add(b == null ? null : new Location(b.offset, b.length, b.crc, b.registration.descriptors()));
    }
    return CompletableFuture.completedFuture(Messages.locateAnswer(answer));
  }

  private boolean mayAccess(InboundConnection peer, String namespace) {
    return !authenticate || authenticated(peer).contains(namespace);
  }

  /** A region of a namespace the peer has not proven is refused; an unknown one is left to "not registered". */
  private boolean mayRead(InboundConnection peer, RegionDescriptor descriptor) {
    if (authenticate && authenticated(peer).isEmpty()) {
      return false;
    }
    Namespace ns = byKey.get(new ServedKey(descriptor.tier(), descriptor.key()));
    return ns == null || mayAccess(peer, ns.name);
  }

  private static CompletableFuture<ByteBuffer> refuse(InboundConnection peer, String why) {
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

  /** One read buffer per publishing thread: a map output's blocks are checksummed one after another. */
  private static final ThreadLocal<ByteBuffer> CRC_BUFFER =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(1 << 20));

  private static int crc32c(ByteBuffer bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    return (int) crc.getValue();
  }

  private static int crc32c(FileChannel channel, long offset, long length) throws IOException {
    CRC32C crc = new CRC32C();
    ByteBuffer buf = CRC_BUFFER.get();
    long done = 0;
    while (done < length) {
      buf.clear().limit((int) Math.min(buf.capacity(), length - done));
      int n = channel.read(buf, offset + done);
      if (n < 0) {
        throw new IOException("file ends inside block at " + (offset + done));
      }
      crc.update(buf.flip());
      done += n;
    }
    return (int) crc.getValue();
  }

  /** Drops every namespace. The transport node stays the caller's. */
  @Override
  public void close() {
    for (String ns : List.copyOf(namespaces.keySet())) {
      dropNamespace(ns);
    }
  }

  /**
   * A registration's key on a tier whose reads pass through the read authorizer: tcp reads, and verbs reads
   * (whose descriptors the owner confirms before the first one-sided read). Shm reads never reach the owner.
   */
  private record ServedKey(Tier tier, long key) {
    static List<ServedKey> of(Registration registration) {
      List<ServedKey> keys = new ArrayList<>(2);
      for (Tier tier : List.of(Tier.TCP, Tier.VERBS)) {
        registration.descriptor(tier).ifPresent(d -> keys.add(new ServedKey(tier, d.key())));
      }
      return keys;
    }
  }

  private record PublishedBlock(String id, Registration registration, long offset, long length, Integer crc) {}

  private static final class Namespace {
    final String name;
    final byte[] secret;
    final Map<String, PublishedBlock> blocks = new ConcurrentHashMap<>();
    private final List<Registration> registrations = new ArrayList<>();
    private boolean dropped;

    Namespace(String name, byte[] secret) {
      this.name = name;
      this.secret = secret;
    }

    synchronized boolean add(Registration registration, List<PublishedBlock> published) {
      if (dropped) {
        return false;
      }
      registrations.add(registration);
      published.forEach(b -> blocks.put(b.id(), b));
      return true;
    }

    synchronized List<Registration> drop() {
      dropped = true;
      blocks.clear();
      return List.copyOf(registrations);
    }
  }
}
