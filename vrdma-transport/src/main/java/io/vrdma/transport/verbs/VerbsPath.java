package io.vrdma.transport.verbs;

import com.ibm.disni.util.MemoryUtils;
import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.tcp.Frames;
import io.vrdma.transport.tcp.TcpClientChannel;
import io.vrdma.transport.tier.DataPath;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Reads one peer's regions with RDMA READs over a queue pair of its own. When the queue pair breaks
 * (an error completion, a timeout, a disconnect), the reads on it fail and the next read connects a new
 * one, as long as the connection's control channel is alive; if that fails too, the path stays down and
 * every read fails at once, so the layer above moves to the next tier for this peer.
 */
final class VerbsPath implements DataPath {
  private static final int MAX_CACHED_TABLES = 4096;

  private final VerbsTier tier;
  private final NodeAdvertisement peer;
  private final InetSocketAddress remote;
  private final TcpClientChannel control;
  private final Map<RegionDescriptor, Pieces.Table> tables = new ConcurrentHashMap<>();
  /** Descriptors the owner confirmed (VERBS_CHECK); reads with them go one-sided from then on. */
  private final Map<RegionDescriptor, Boolean> checked = new ConcurrentHashMap<>();
  private VerbsEndpoint endpoint;
  private TransportException down;
  private boolean closed;

  VerbsPath(VerbsTier tier, NodeAdvertisement peer, InetSocketAddress remote, TcpClientChannel control) {
    this.tier = tier;
    this.peer = peer;
    this.remote = remote;
    this.control = control;
  }

  /** The working queue pair, connecting a new one when the last broke. */
  synchronized VerbsEndpoint endpoint() throws TransportException {
    if (closed) {
      throw new PeerUnavailableException("the verbs path to " + peer + " is closed");
    }
    if (down != null) {
      throw down;
    }
    if (endpoint != null && endpoint.broken() == null) {
      return endpoint;
    }
    if (endpoint != null && !control.isActive()) {
      down = new PeerUnavailableException("connection to " + peer + " is closed");
      throw down;
    }
    try {
      endpoint = tier.connect(remote);
      return endpoint;
    } catch (TransportException e) {
      if (endpoint != null) {
        down = e; // a reconnect failed: leave verbs to the next tier for this peer
      }
      throw e;
    }
  }

  @Override
  public CompletableFuture<Void> read(RegionDescriptor region, long offset, int length, PooledBuffer dst,
      int dstOffset) {
    if (region.owner() != peer.nodeId()) {
      return CompletableFuture.failedFuture(new InvalidDescriptorException("verbs descriptor of node "
          + Long.toHexString(region.owner()) + " used on the connection to " + peer));
    }
    if (length == 0) {
      return CompletableFuture.completedFuture(null);
    }
    if (checked.containsKey(region)) {
      return readChecked(region, offset, length, dst, dstOffset);
    }
    return control.request(Frames.VERBS_CHECK, ByteBuffer.wrap(region.toBytes())).thenCompose(ok -> {
      if (checked.size() >= MAX_CACHED_TABLES) {
        checked.clear();
      }
      checked.put(region, Boolean.TRUE);
      return readChecked(region, offset, length, dst, dstOffset);
    });
  }

  private CompletableFuture<Void> readChecked(RegionDescriptor region, long offset, int length, PooledBuffer dst,
      int dstOffset) {
    try {
      VerbsEndpoint ep = endpoint();
      long local = MemoryUtils.getAddress(dst.nioBuffer());
      int lkey = tier.localKey(dst, local);
      long key = region.key();
      if ((key & ~0xffffffffL) == 0) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ep.post(new VerbsEndpoint.Op(region.address() + offset, (int) key, local + dstOffset, lkey, length,
            failure -> complete(done, failure)));
        return done;
      }
      if ((key & ~0xffffffffL) != Pieces.TABLE_FLAG) {
        throw new InvalidDescriptorException("verbs descriptor with malformed key 0x" + Long.toHexString(key));
      }
      return table(ep, region).thenCompose(t -> readPieces(endpointOrFail(), t, region, offset, length, local + dstOffset,
          lkey));
    } catch (TransportException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private VerbsEndpoint endpointOrFail() {
    try {
      return endpoint();
    } catch (TransportException e) {
      throw new java.util.concurrent.CompletionException(e);
    }
  }

  private static void complete(CompletableFuture<Void> done, TransportException failure) {
    if (failure == null) {
      done.complete(null);
    } else {
      done.completeExceptionally(failure);
    }
  }

  private CompletableFuture<Void> readPieces(VerbsEndpoint ep, Pieces.Table table, RegionDescriptor region,
      long offset, int length, long local, int lkey) {
    try {
      table.checkCovers(region.length());
    } catch (InvalidDescriptorException e) {
      return CompletableFuture.failedFuture(e);
    }
    List<Pieces.Span> spans = Pieces.spans(offset, length, table.pieceBytes());
    CompletableFuture<Void> done = new CompletableFuture<>();
    AtomicInteger left = new AtomicInteger(spans.size());
    AtomicReference<TransportException> first = new AtomicReference<>();
    for (Pieces.Span s : spans) {
      Pieces.Piece piece = table.pieces().get(s.piece());
      // the read completes only when every part has, so that no part still writes into a handed-back buffer
      ep.post(new VerbsEndpoint.Op(piece.address() + s.offsetInPiece(), piece.rkey(), local + s.dstOffset(), lkey,
          s.length(), failure -> {
            if (failure != null) {
              first.compareAndSet(null, failure);
            }
            if (left.decrementAndGet() == 0) {
              complete(done, first.get());
            }
          }));
    }
    return done;
  }

  /** The piece table of a region, read once from its owner with two RDMA READs (header, then entries). */
  private CompletableFuture<Pieces.Table> table(VerbsEndpoint ep, RegionDescriptor region) {
    Pieces.Table cached = tables.get(region);
    if (cached != null) {
      return CompletableFuture.completedFuture(cached);
    }
    int rkey = (int) region.key();
    return readSmall(ep, region.address(), rkey, Pieces.HEADER_BYTES).thenCompose(header -> {
      long[] h;
      try {
        h = Pieces.decodeHeader(header);
      } catch (InvalidDescriptorException e) {
        return CompletableFuture.failedFuture(e);
      }
      int count = (int) h[1];
      return readSmall(ep, region.address() + Pieces.HEADER_BYTES, rkey, count * Pieces.ENTRY_BYTES)
          .thenApply(entries -> {
            Pieces.Table t = new Pieces.Table(h[0], Pieces.decodeEntries(entries, count));
            if (tables.size() >= MAX_CACHED_TABLES) {
              tables.clear();
            }
            tables.put(region, t);
            return t;
          });
    });
  }

  /** Reads a few bytes of the peer's memory into a heap copy. */
  private CompletableFuture<ByteBuffer> readSmall(VerbsEndpoint ep, long address, int rkey, int length) {
    if (length > tier.pool().maxBufferBytes()) {
      return CompletableFuture.failedFuture(new InvalidDescriptorException("piece table of " + length
          + " bytes exceeds the largest receive buffer"));
    }
    PooledBuffer buffer;
    int lkey;
    long local;
    try {
      buffer = tier.pool().acquire(length);
    } catch (TransportException e) {
      return CompletableFuture.failedFuture(e);
    }
    try {
      local = MemoryUtils.getAddress(buffer.nioBuffer());
      lkey = tier.localKey(buffer, local);
    } catch (TransportException e) {
      buffer.release();
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<ByteBuffer> done = new CompletableFuture<>();
    ep.post(new VerbsEndpoint.Op(address, rkey, local, lkey, length, failure -> {
      if (failure != null) {
        buffer.release();
        done.completeExceptionally(failure);
        return;
      }
      ByteBuffer copy = ByteBuffer.allocate(length).put(buffer.nioBuffer(0, length)).flip();
      buffer.release();
      done.complete(copy);
    }));
    return done;
  }

  @Override
  public void close() {
    VerbsEndpoint ep;
    synchronized (this) {
      closed = true;
      ep = endpoint;
      endpoint = null;
    }
    if (ep != null) {
      ep.breakWith(new PeerUnavailableException("the connection to " + peer + " is closed"));
    }
  }
}
