package io.vrdma.block.client;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockException.BlockNotFoundException;
import io.vrdma.block.BlockException.CorruptBlockException;
import io.vrdma.block.protocol.Messages;
import io.vrdma.block.protocol.Messages.Location;
import io.vrdma.block.protocol.Messages.Placement;
import io.vrdma.transport.Connection;
import io.vrdma.transport.RegionView;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.RegionNotFoundException;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.buffer.PooledBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches batches of blocks from peers' {@link io.vrdma.block.server.BlockServer}s: one locate round trip
 * per batch, then one-sided reads over the connection's tier, each block delivered to the listener as
 * it completes.
 *
 * <p>Memory is bounded by {@link BlockConf}'s in-flight limits; a block larger than the largest pooled
 * buffer is assembled in a spill file. A read that fails on a tier is tried on the next tier the block is
 * registered on (shm → verbs → tcp) without the caller seeing it; when every tier failed, the block is
 * retried with backoff on a fresh connection, and only then reported. A block whose CRC32C does not match
 * is fetched once more, then reported as corrupt; it is never delivered.
 *
 * <p>On a staging tier (shm, verbs) the server places the asked-for blocks in its window and lends them: each
 * located block carries a lease that goes back to the server ({@link LeaseReturns}) once the block's bytes are no
 * longer needed — after a copy at once, for a block read in place when its last reference is released. Blocks the
 * server could not place yet come back deferred and are asked for again at once.
 *
 * <p>Threads: locate answers are handled on the client's own two threads; reads complete on the transport's
 * threads (a tcp event loop, the verbs completion thread, or the caller's for shm), where the checksum and delivery
 * to the listener run today (moving them to a pool of their own is issue 17's).
 */
public final class BlockClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BlockClient.class);

  private final TransportNode node;
  private final BlockConf conf;
  private final boolean inPlace;
  private final FlowControl flow;
  private final BlockClientMetrics metrics = new BlockClientMetrics();
  private final Map<String, PeerSession> sessions = new ConcurrentHashMap<>();
  private final ScheduledExecutorService executor;
  private final Path spillDir;
  private final LeaseReturns leases;

  public BlockClient(TransportNode node, BlockConf conf) {
    this.node = node;
    this.conf = conf;
    this.inPlace = conf.get(BlockConf.SHM_IN_PLACE);
    this.flow = new FlowControl(conf.get(BlockConf.MAX_BYTES_IN_FLIGHT), conf.get(BlockConf.MAX_REQUESTS_IN_FLIGHT),
        conf.get(BlockConf.MAX_BYTES_IN_FLIGHT_PER_PEER), conf.get(BlockConf.MAX_REQUESTS_IN_FLIGHT_PER_PEER));
    String dir = conf.get(BlockConf.SPILL_DIR);
    this.spillDir = Path.of(dir.isEmpty() ? System.getProperty("java.io.tmpdir") : dir);
    AtomicInteger threads = new AtomicInteger();
    this.executor = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "vrdma-block-client-" + threads.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.leases = new LeaseReturns(executor);
  }

  /** Counters of what this client moved, per tier, and of its retries, fallbacks and failures. */
  public BlockClientMetrics metrics() {
    return metrics;
  }

  /** Bytes of blocks being read right now (bounded by the in-flight limits). */
  public long bytesInFlight() {
    return flow.bytesInFlight();
  }

  /**
   * Fetches blocks of one namespace from the block server of the node at {@code host:port}. Returns at
   * once; the listener hears of every block exactly once, and the future completes after the last.
   *
   * @param secret the namespace's shared secret, or null when the server does not authenticate
   */
  public CompletableFuture<Void> fetch(String host, int port, String namespace, byte[] secret, List<String> blockIds,
      BlockFetchListener listener) {
    // a connection proven with one secret is never lent to a caller holding another (or none)
    String sessionKey = host + ":" + port + "#" + fingerprint(secret);
    Fetch fetch = new Fetch(sessions.computeIfAbsent(sessionKey, k -> new PeerSession(node, host, port)),
        namespace, secret, listener, blockIds.size());
    executor.execute(() -> fetch.locateAndStart(blockIds, 0));
    return fetch.done;
  }

  /** One call of {@link #fetch}: its blocks, its listener, and the count of blocks not yet reported. */
  private final class Fetch {
    final PeerSession session;
    final String namespace;
    final byte[] secret;
    final BlockFetchListener listener;
    final AtomicInteger outstanding;
    final CompletableFuture<Void> done = new CompletableFuture<>();

    Fetch(PeerSession session, String namespace, byte[] secret, BlockFetchListener listener, int blocks) {
      this.session = session;
      this.namespace = namespace;
      this.secret = secret == null ? null : secret.clone();
      this.listener = listener;
      this.outstanding = new AtomicInteger(blocks);
      if (blocks == 0) {
        done.complete(null);
      }
    }

    /**
     * Locates the ids batch by batch, each batch's reads starting as soon as its answer is in. Blocks the server
     * could not place in its window yet (deferred) are asked for again at once; the server answers when it has
     * room, so the window is refilled while the reader works on what it has.
     */
    void locateAndStart(List<String> ids, int attempt) {
      int batchSize = (int) (long) conf.get(BlockConf.LOCATE_BATCH);
      Connection connection;
      try {
        connection = session.ready(namespace, secret);
      } catch (TransportException e) {
        retryOrFail(ids, attempt, e);
        return;
      }
      for (int from = 0; from < ids.size(); from += batchSize) {
        locate(connection, List.copyOf(ids.subList(from, Math.min(ids.size(), from + batchSize))), attempt);
      }
    }

    private void locate(Connection connection, List<String> batch, int attempt) {
      session.callAsync(connection, Messages.locate(namespace, connection.tier(), batch)).whenCompleteAsync(
          (answer, failure) -> {
            List<Location> locations;
            try {
              if (failure != null) {
                Throwable cause = unwrap(failure);
                throw cause instanceof TransportException te ? te
                    : new TransportException("locate at " + session.key() + " failed: " + cause, cause);
              }
              locations = Messages.decodeLocateAnswer(answer, batch.size());
            } catch (TransportException e) {
              retryOrFail(batch, attempt, e);
              return;
            }
            List<String> deferred = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) {
              String id = batch.get(i);
              Location location = locations.get(i);
              if (location == null) {
                fail(id, new BlockNotFoundException("block " + id + " is not published in namespace " + namespace
                    + " on " + session.key()));
              } else if (location.deferred()) {
                deferred.add(id);
              } else {
                BlockRead read = new BlockRead(this, id, location, connection, tierOrder(connection, location), attempt);
                flow.acquire(session.key(), read.charge, read::start);
              }
            }
            if (!deferred.isEmpty()) {
              metrics.deferred(deferred.size());
              locate(connection, deferred, attempt);
            }
          }, executor);
    }

    private void retryOrFail(List<String> ids, int attempt, TransportException e) {
      if (attempt < conf.get(BlockConf.MAX_RETRIES) && !(e instanceof io.vrdma.block.BlockException)) {
        metrics.retried();
        List<String> rest = List.copyOf(ids);
        executor.schedule(() -> locateAndStart(rest, attempt + 1), backoff(attempt + 1), TimeUnit.MILLISECONDS);
      } else {
        ids.forEach(id -> fail(id, e));
      }
    }

    void succeed(String id, FetchedBlock block) {
      try {
        listener.onBlockFetchSuccess(id, block);
      } catch (RuntimeException e) {
        LOG.warn("listener failed on block {}: {}", id, e.toString());
      }
      countDown();
    }

    void fail(String id, Throwable cause) {
      metrics.failed();
      try {
        listener.onBlockFetchFailure(id, cause);
      } catch (RuntimeException e) {
        LOG.warn("listener failed on the failure of block {}: {}", id, e.toString());
      }
      countDown();
    }

    private void countDown() {
      if (outstanding.decrementAndGet() == 0) {
        done.complete(null);
      }
    }
  }

  /** The tiers to read a block over: from the connection's tier down the preference order, where it lives. */
  private List<Tier> tierOrder(Connection connection, Location location) {
    List<Tier> preference = node.conf().tiers();
    List<Tier> order = new ArrayList<>();
    for (Tier t : preference.subList(preference.indexOf(connection.tier()), preference.size())) {
      if (location.placements().containsKey(t)) {
        order.add(t);
      }
    }
    return order;
  }

  private long backoff(int attempt) {
    return conf.get(BlockConf.RETRY_WAIT) << Math.min(attempt - 1, 16);
  }

  /**
   * One block's journey: tiers in order, checksum, delivery, and giving its lease back. A read that fails on every
   * tier locates the block again (after a backoff, on a fresh connection when the old one is gone): a staged copy
   * may have been taken back.
   */
  private final class BlockRead {
    final Fetch fetch;
    final String id;
    final Location location;
    /** The connection the location came on: the server lent the staged copy to it. */
    final Connection connection;
    final List<Tier> tiers;
    final long charge;
    final int retries;
    int tierIndex;
    boolean refetchedCorrupt;
    private final java.util.concurrent.atomic.AtomicBoolean leaseReturned = new java.util.concurrent.atomic.AtomicBoolean();

    BlockRead(Fetch fetch, String id, Location location, Connection connection, List<Tier> tiers, int retries) {
      this.fetch = fetch;
      this.id = id;
      this.location = location;
      this.connection = connection;
      this.tiers = tiers;
      this.retries = retries;
      this.charge = flow.charge(location.length());
    }

    void start() {
      if (location.length() == 0) { // nothing to read, whichever tier it would take
        try {
          BufferBlock empty = new BufferBlock(id, node.bufferPool().acquire(1), 0);
          metrics.delivered(connection.tier(), 0);
          finish(empty, null);
        } catch (TransportException e) {
          finish(null, e);
        }
        return;
      }
      if (tiers.isEmpty()) {
        finish(null, new InvalidDescriptorException("block " + id + " is placed on "
            + location.placements().keySet() + ", none of which the connection to " + fetch.session.key() + " has"));
        return;
      }
      Tier tier = tiers.get(tierIndex);
      Placement place = location.placements().get(tier);
      CompletableFuture<FetchedBlock> read;
      try {
        Optional<RegionView> view = inPlace && location.length() <= Integer.MAX_VALUE
            ? connection.view(place.region(), place.offset(), (int) location.length()) : Optional.empty();
        if (view.isPresent()) {
          read = CompletableFuture.completedFuture(new ViewBlock(id, view.get(), this::giveLeaseBack));
        } else {
          read = location.length() <= node.bufferPool().maxBufferBytes()
              ? readIntoBuffer(place) : readIntoSpillFile(place);
        }
      } catch (IOException | RuntimeException e) {
        read = CompletableFuture.failedFuture(e);
      }
      read.whenComplete((block, failure) -> {
        if (failure == null) {
          verified(tier, block);
        } else {
          failed(unwrap(failure));
        }
      });
    }

    /** Tells the server it may reuse the block's staged space; once, whoever calls. */
    void giveLeaseBack() {
      if (leaseReturned.compareAndSet(false, true)) {
        leases.giveBack(connection, location.lease());
      }
    }

    private CompletableFuture<FetchedBlock> readIntoBuffer(Placement place) throws TransportException {
      int length = (int) location.length();
      PooledBuffer buffer = node.bufferPool().acquire(Math.max(1, length));
      return connection.read(place.region(), place.offset(), length, buffer, 0)
          .thenApply(x -> (FetchedBlock) new BufferBlock(id, buffer, length))
          .whenComplete((b, e) -> {
            if (e != null) {
              buffer.release();
            }
          });
    }

    private CompletableFuture<FetchedBlock> readIntoSpillFile(Placement place) throws TransportException, IOException {
      Path file = Files.createTempFile(spillDir, "vrdma-block-", ".spill");
      FileChannel out = FileChannel.open(file, StandardOpenOption.WRITE);
      PooledBuffer piece = node.bufferPool().acquire(node.bufferPool().maxBufferBytes());
      return readPieces(place, piece, out, 0).whenComplete((x, e) -> {
        piece.release();
        try {
          out.close();
          if (e != null) {
            Files.deleteIfExists(file);
          }
        } catch (IOException io) {
          LOG.warn("cannot clean spill file {}: {}", file, io.toString());
        }
      }).thenApply(x -> new FileBlock(id, file, location.length()));
    }

    private CompletableFuture<Void> readPieces(Placement place, PooledBuffer piece, FileChannel out, long done) {
      if (done == location.length()) {
        return CompletableFuture.completedFuture(null);
      }
      int n = (int) Math.min(piece.capacity(), location.length() - done);
      return connection.read(place.region(), place.offset() + done, n, piece, 0).thenCompose(x -> {
        try {
          ByteBuffer bytes = piece.nioBuffer(0, n);
          long at = done;
          while (bytes.hasRemaining()) {
            at += out.write(bytes, at);
          }
        } catch (IOException e) {
          throw new CompletionException(e);
        }
        return readPieces(place, piece, out, done + n);
      });
    }

    private void verified(Tier tier, FetchedBlock block) {
      if (location.checksum() != null) {
        int actual;
        try {
          actual = crc32c(block);
        } catch (IOException e) {
          block.release();
          failed(e);
          return;
        }
        if (block instanceof ViewBlock inPlaceBlock && actual == location.checksum()) {
          try {
            inPlaceBlock.checkStillValid(); // the checksummed bytes were the block's all along
          } catch (IOException e) {
            block.release();
            failed(new RegionNotFoundException(e.getMessage()));
            return;
          }
        }
        if (actual != location.checksum()) {
          block.release();
          CorruptBlockException corrupt = new CorruptBlockException("block " + id + " from " + fetch.session.key()
              + " over " + tier.configName() + " has CRC32C " + Integer.toHexString(actual) + ", expected "
              + Integer.toHexString(location.checksum()));
          if (refetchedCorrupt) {
            finish(null, corrupt);
            return;
          }
          refetchedCorrupt = true;
          metrics.refetchedCorrupt();
          LOG.warn("{}; fetching it again", corrupt.getMessage());
          if (tierIndex + 1 < tiers.size()) {
            tierIndex++;
          }
          start();
          return;
        }
      }
      metrics.delivered(tier, location.length());
      finish(block, null);
    }

    private void failed(Throwable cause) {
      if (tierIndex + 1 < tiers.size()) {
        LOG.info("block {} failed on {} ({}); falling back to {}", id, tiers.get(tierIndex).configName(),
            cause.getMessage(), tiers.get(tierIndex + 1).configName());
        metrics.fellBack();
        tierIndex++;
        start();
        return;
      }
      boolean gone = cause instanceof RegionNotFoundException || cause instanceof InvalidDescriptorException;
      // a staged copy that is gone was taken back (its lease expired, the connection broke): locate it again
      if ((gone && location.lease() == 0) || retries >= conf.get(BlockConf.MAX_RETRIES)) {
        finish(null, gone ? new BlockNotFoundException("block " + id + " is no longer served by "
            + fetch.session.key() + ": " + cause.getMessage()) : cause);
        return;
      }
      metrics.retried();
      giveLeaseBack();
      flow.release(fetch.session.key(), charge);
      executor.schedule(() -> fetch.locateAndStart(List.of(id), retries + 1), backoff(retries + 1),
          TimeUnit.MILLISECONDS);
    }

    private void finish(FetchedBlock block, Throwable failure) {
      flow.release(fetch.session.key(), charge);
      if (!(block instanceof ViewBlock)) {
        giveLeaseBack(); // copied out (or failed): the staged bytes are no longer needed
      }
      if (failure == null) {
        fetch.succeed(id, block);
      } else {
        fetch.fail(id, failure);
      }
    }
  }

  private static int crc32c(FetchedBlock block) throws IOException {
    CRC32C crc = new CRC32C();
    if (block instanceof BufferBlock || block instanceof ViewBlock) {
      crc.update(block.nioByteBuffer());
    } else {
      try (var in = block.createInputStream()) {
        byte[] chunk = new byte[1 << 16];
        int n;
        while ((n = in.read(chunk)) > 0) {
          crc.update(chunk, 0, n);
        }
      }
    }
    return (int) crc.getValue();
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

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  /** Closes the client's connections; fetches in flight fail. The transport node stays the caller's. */
  @Override
  public void close() {
    executor.shutdownNow();
    sessions.values().forEach(PeerSession::close);
    sessions.clear();
  }
}
