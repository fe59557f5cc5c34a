package io.vrdma.block.server;

import io.vrdma.block.BlockConf;
import io.vrdma.block.protocol.Messages.Location;
import io.vrdma.block.protocol.Messages.Placement;
import io.vrdma.transport.InboundConnection;
import io.vrdma.transport.Registration;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.ResourceFullException;
import io.vrdma.transport.TransportNode;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The serving side's bounded transfer window: blocks stay in the files the engine wrote, and are placed on a
 * staging tier (copied into the shm arena, registered for verbs) only when a reader asks for them. The reader
 * gets a lease with each staged block and gives it back once it is done with the bytes; the space is reused at
 * once. So a shuffle of any size moves over the fast tiers through a window of fixed size.
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li>Requests are served in arrival order; a block that finds the window full waits (nobody behind it
 *       overtakes it) until a lease comes back or, for space other processes hold in a shared arena, a retry
 *       {@link #RETRY_MILLIS} later finds room.
 *   <li>A request that staged some of its blocks and then meets a full window is answered at once, the rest
 *       marked deferred: the reader starts on what it has and asks again for the rest (pipelining).
 *   <li>One reader connection holds at most {@code stage.maxBytesPerPeer} (and at most half the window), so two
 *       readers always share it; a block larger than that goes alone.
 *   <li>A request that staged nothing within {@code stage.wait} gets its blocks' tcp places instead — the
 *       last resort, counted ({@link StagingMetrics#windowFallbackBlocks()}) and logged at INFO once per
 *       namespace. A block larger than the whole window goes the same way at once.
 *   <li>A lease not given back within {@code stage.leaseTimeout} is taken back; a reader whose connection closes
 *       loses its leases at once. A reader still looking at such a block in place finds the region changed and
 *       fails its stream (validate, copy, validate): it never sees another block's bytes.
 * </ul>
 *
 * <h2>Threads</h2>
 * Requests arrive on the transport's event loops and are only queued there. Placing blocks (file reads, copies
 * into the arena, checksums) runs on this window's own pool of {@code stage.threads} threads
 * ({@code vrdma-block-stage-N}); one timer thread retries a full window and expires leases. Completing a
 * request's future hands the answer back to the event loop that writes it.
 */
final class StagingWindow implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StagingWindow.class);
  /** How often a window that another process filled is tried again while requests wait. */
  static final long RETRY_MILLIS = 5;
  private static final String PEER_STATE = "vrdma.block.leases";

  private final TransportNode node;
  private final boolean checksum;
  private final long maxBytesPerPeer;
  private final long waitNanos;
  private final long leaseTimeoutNanos;
  private final ExecutorService stagers;
  private final ScheduledExecutorService timer;
  private final StagingMetrics metrics = new StagingMetrics();
  private final BiConsumer<ServedBlock, Registration> onStaged;
  private final BiConsumer<ServedBlock, Registration> onReleased;

  private final Object lock = new Object();
  private final ArrayDeque<Request> pending = new ArrayDeque<>();
  private final Map<Long, Lease> leases = new HashMap<>();
  /** Staging tiers that refused the last placement for lack of room, until a lease comes back or a retry. */
  private final Set<Tier> full = EnumSet.noneOf(Tier.class);
  private final Set<String> fallbackLogged = ConcurrentHashMap.newKeySet();
  private long nextLeaseId = 1;
  private final int threads;
  private int drainsRunning;
  private boolean closed;

  /**
   * @param onStaged told of each staged registration before its descriptor leaves the node
   * @param onReleased told of each staged registration after it was freed
   */
  StagingWindow(TransportNode node, BlockConf conf, BiConsumer<ServedBlock, Registration> onStaged,
      BiConsumer<ServedBlock, Registration> onReleased) {
    this.node = node;
    this.checksum = conf.get(BlockConf.CHECKSUM);
    this.maxBytesPerPeer = conf.get(BlockConf.STAGE_MAX_BYTES_PER_PEER);
    this.waitNanos = TimeUnit.MILLISECONDS.toNanos(conf.get(BlockConf.STAGE_WAIT));
    this.leaseTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(conf.get(BlockConf.STAGE_LEASE_TIMEOUT));
    this.onStaged = onStaged;
    this.onReleased = onReleased;
    this.threads = (int) Math.max(1, conf.get(BlockConf.STAGE_THREADS));
    AtomicInteger n = new AtomicInteger();
    this.stagers = Executors.newFixedThreadPool(threads, r -> daemon(r, "vrdma-block-stage-" + n.incrementAndGet()));
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "vrdma-block-stage-timer"));
    long sweep = Math.max(RETRY_MILLIS, TimeUnit.NANOSECONDS.toMillis(leaseTimeoutNanos) / 4);
    timer.scheduleWithFixedDelay(this::expireLeases, sweep, sweep, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(this::retryFull, RETRY_MILLIS, RETRY_MILLIS, TimeUnit.MILLISECONDS);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Whether blocks read over {@code tier} are staged (the node has the tier and it holds copies or pins). */
  boolean stages(Tier tier) {
    return tier != Tier.TCP && node.has(tier);
  }

  StagingMetrics metrics() {
    return metrics;
  }

  /**
   * Answers a locate: for a staging tier, places the blocks (as many as the window takes) and leases them to the
   * peer; for the others, their in-place locations. Null entries of {@code blocks} are blocks not published.
   */
  CompletableFuture<List<Location>> locate(InboundConnection peer, Tier tier, List<ServedBlock> blocks) {
    Request request = new Request(peerState(peer), tier, blocks);
    if (!stages(tier)) {
      stagers.execute(() -> request.answerInPlace(this));
      return request.answer;
    }
    synchronized (lock) {
      if (closed || request.peer.closed) {
        request.answer.completeExceptionally(new TransportException("block server closed"));
        return request.answer;
      }
      pending.add(request);
    }
    drain();
    return request.answer;
  }

  /** Gives back leases the peer holds; ids it does not hold (expired, another connection's) are ignored. */
  void release(InboundConnection peer, long[] ids) {
    PeerState state = peerState(peer);
    List<Lease> done = new ArrayList<>(ids.length);
    synchronized (lock) {
      for (long id : ids) {
        Lease lease = leases.get(id);
        if (lease != null && lease.peer == state) {
          done.add(take(lease));
        }
      }
    }
    free(done);
  }

  /** Takes back every lease on blocks of a namespace (it is being dropped). */
  void dropNamespace(String namespace) {
    List<Lease> done = new ArrayList<>();
    synchronized (lock) {
      for (Lease lease : List.copyOf(leases.values())) {
        if (lease.block.namespace.equals(namespace)) {
          done.add(take(lease));
        }
      }
    }
    free(done);
  }

  /** Leases held right now, over all peers. */
  int leasesHeld() {
    synchronized (lock) {
      return leases.size();
    }
  }

  /** Bytes staged right now, over all peers. */
  long bytesHeld() {
    synchronized (lock) {
      return leases.values().stream().mapToLong(l -> l.block.length).sum();
    }
  }

  private PeerState peerState(InboundConnection peer) {
    return (PeerState) peer.attributes().computeIfAbsent(PEER_STATE, k -> {
      PeerState state = new PeerState(peer);
      peer.onClose(() -> peerClosed(state));
      return state;
    });
  }

  private void peerClosed(PeerState peer) {
    List<Lease> done = new ArrayList<>();
    List<Request> dropped = new ArrayList<>();
    synchronized (lock) {
      peer.closed = true;
      for (Lease lease : List.copyOf(peer.leases)) {
        done.add(take(lease));
      }
      for (Iterator<Request> it = pending.iterator(); it.hasNext(); ) {
        Request r = it.next();
        if (r.peer == peer) {
          it.remove();
          dropped.add(r);
        }
      }
    }
    metrics.reclaimed(done.size());
    if (!done.isEmpty()) {
      LOG.debug("reader {} went away holding {} leases: taken back", peer.connection.remoteAddress(), done.size());
    }
    dropped.forEach(r -> r.answer.completeExceptionally(new TransportException("reader went away")));
    free(done);
  }

  /** Must hold the lock: forgets a lease; the caller frees its registration outside the lock. */
  private Lease take(Lease lease) {
    leases.remove(lease.id);
    lease.peer.leases.remove(lease);
    lease.peer.heldBytes -= lease.block.length;
    full.remove(lease.tier);
    return lease;
  }

  private void free(List<Lease> done) {
    for (Lease lease : done) {
      lease.registration.close();
      onReleased.accept(lease.block, lease.registration);
    }
    if (!done.isEmpty()) {
      drain();
    }
  }

  private void expireLeases() {
    long now = System.nanoTime();
    List<Lease> done = new ArrayList<>();
    synchronized (lock) {
      for (Lease lease : List.copyOf(leases.values())) {
        if (now - lease.granted > leaseTimeoutNanos) {
          done.add(take(lease));
        }
      }
    }
    if (!done.isEmpty()) {
      metrics.expired(done.size());
      LOG.warn("{} staged blocks not given back within {} ms (a reader stalled): taken back; first: {} held by {}",
          done.size(), TimeUnit.NANOSECONDS.toMillis(leaseTimeoutNanos), done.get(0).block,
          done.get(0).peer.connection.remoteAddress());
    }
    free(done);
  }

  /** Space that other processes hold in a shared arena comes back without telling us: look again. */
  private void retryFull() {
    synchronized (lock) {
      if (pending.isEmpty()) {
        return;
      }
      full.clear();
    }
    drain();
  }

  /** Starts staging threads for whatever can progress, up to the pool's size. */
  private void drain() {
    synchronized (lock) {
      if (closed || pending.isEmpty() || drainsRunning >= threads) {
        return;
      }
      drainsRunning++;
    }
    try {
      stagers.execute(this::drainLoop);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      synchronized (lock) {
        drainsRunning--;
      }
    }
  }

  private void drainLoop() {
    try {
      while (true) {
        Claim claim;
        List<Request> answered = new ArrayList<>();
        synchronized (lock) {
          claim = nextClaim(answered);
          if (claim == null) {
            drainsRunning--;
          }
        }
        answered.forEach(r -> r.complete(this));
        if (claim == null) {
          return;
        }
        stage(claim);
      }
    } catch (RuntimeException | Error e) {
      synchronized (lock) {
        drainsRunning--;
      }
      LOG.error("staging thread failed", e);
      throw e;
    }
  }

  /**
   * Must hold the lock. The next block to place, with its peer's credit reserved; requests that are complete,
   * or can go no further and have something to show, go to {@code answered}.
   */
  private Claim nextClaim(List<Request> answered) {
    long now = System.nanoTime();
    for (Iterator<Request> it = pending.iterator(); it.hasNext(); ) {
      Request r = it.next();
      if (r.busy) {
        continue;
      }
      while (r.next < r.blocks.size() && !r.needsPlacement(r.next, this)) {
        r.resolveWithoutStaging(r.next, this);
        r.next++;
      }
      if (r.next == r.blocks.size()) {
        it.remove();
        answered.add(r);
        continue;
      }
      ServedBlock block = r.blocks.get(r.next);
      long peerLimit = Math.min(maxBytesPerPeer, Math.max(1, node.provider(r.tier).windowBytes() / 2));
      boolean peerAtLimit = r.peer.heldBytes > 0 && r.peer.heldBytes + block.length > peerLimit;
      if (peerAtLimit || full.contains(r.tier)) {
        if (!r.waited) {
          r.waited = true;
          metrics.waited();
        }
        if (r.staged > 0) {
          r.deferRest();
          it.remove();
          answered.add(r);
        } else if (now - r.arrived > waitNanos) {
          r.fallBackRest(this);
          it.remove();
          answered.add(r);
        }
        continue;
      }
      r.busy = true;
      r.peer.heldBytes += block.length;
      return new Claim(r, r.next, block);
    }
    return null;
  }

  /** Places one block on the request's tier, outside the lock, then records the outcome under it. */
  private void stage(Claim claim) {
    Request r = claim.request;
    ServedBlock block = claim.block;
    Registration registration = null;
    Location location = null;
    Throwable failure = null;
    try {
      registration = node.register(block.source(), EnumSet.of(r.tier));
      onStaged.accept(block, registration);
      Integer crc = checksum ? block.checksum(registration.copy().orElse(null)) : null;
      location = r.location(block, crc, registration);
    } catch (IOException | RuntimeException e) {
      failure = e;
      if (registration != null) {
        registration.close();
        onReleased.accept(block, registration);
      }
    }
    boolean fullNow = failure instanceof ResourceFullException;
    Lease lease = null;
    boolean keep;
    synchronized (lock) {
      r.busy = false;
      r.peer.heldBytes -= block.length;
      keep = location != null && !r.peer.closed && !closed;
      if (keep) {
        lease = new Lease(nextLeaseId++, r.peer, r.tier, block, registration, System.nanoTime());
        leases.put(lease.id, lease);
        r.peer.leases.add(lease);
        r.peer.heldBytes += block.length;
        r.answers.set(claim.index, location.withLease(lease.id));
        r.staged++;
        r.next++;
      } else if (fullNow) {
        full.add(r.tier);
      } else if (failure != null) {
        LOG.info("cannot stage {} on {} ({}); its tcp place is given instead", block, r.tier.configName(),
            failure.getMessage());
        r.answers.set(claim.index, r.inPlaceLocation(block, this));
        metrics.fellBack(1, block.length);
        r.next++;
      }
    }
    if (location != null && !keep) {
      registration.close();
      onReleased.accept(block, registration);
    }
    if (keep) {
      metrics.staged(block.length);
    }
  }

  private void logFallback(Request r, int blocks, long bytes, String why) {
    metrics.fellBack(blocks, bytes);
    String namespace = r.blocks.stream().filter(b -> b != null).findFirst().map(b -> b.namespace).orElse("?");
    if (fallbackLogged.add(namespace)) {
      long window = node.provider(r.tier).windowBytes();
      LOG.info("{} window full for namespace {}: {} blocks ({} bytes) go over tcp ({}); window {} MiB, this node"
          + " holds {} MiB in {} leases, stage.wait {} ms (logged once per namespace; counted in the block"
          + " server's window fallbacks)", r.tier.configName(), namespace, blocks, bytes, why, window >> 20,
          bytesHeld() >> 20, leasesHeld(), TimeUnit.NANOSECONDS.toMillis(waitNanos));
    }
  }

  /** Stops staging; leases still out are freed. */
  @Override
  public void close() {
    List<Lease> done;
    List<Request> dropped;
    synchronized (lock) {
      closed = true;
      done = new ArrayList<>(leases.values());
      done.forEach(this::take);
      dropped = new ArrayList<>(pending);
      pending.clear();
    }
    dropped.forEach(r -> r.answer.completeExceptionally(new TransportException("block server closed")));
    timer.shutdownNow();
    stagers.shutdownNow();
    for (Lease lease : done) {
      lease.registration.close();
      onReleased.accept(lease.block, lease.registration);
    }
  }

  /** A reader connection's leases and the bytes they hold. Guarded by the window's lock. */
  private static final class PeerState {
    final InboundConnection connection;
    final Set<Lease> leases = new HashSet<>();
    long heldBytes;
    boolean closed;

    PeerState(InboundConnection connection) {
      this.connection = connection;
    }
  }

  private record Lease(long id, PeerState peer, Tier tier, ServedBlock block, Registration registration,
      long granted) {}

  private record Claim(Request request, int index, ServedBlock block) {}

  /** One locate request: its blocks in order, and the answer built so far. */
  private static final class Request {
    final PeerState peer;
    final Tier tier;
    final List<ServedBlock> blocks;
    final List<Location> answers;
    final CompletableFuture<List<Location>> answer = new CompletableFuture<>();
    final long arrived = System.nanoTime();
    int next;
    int staged;
    boolean busy;
    boolean waited;

    Request(PeerState peer, Tier tier, List<ServedBlock> blocks) {
      this.peer = peer;
      this.tier = tier;
      this.blocks = blocks;
      this.answers = new ArrayList<>(java.util.Collections.nCopies(blocks.size(), (Location) null));
    }

    /** Whether block {@code i} goes into the window: published, not empty, and no larger than the tier's largest region. */
    boolean needsPlacement(int i, StagingWindow w) {
      ServedBlock b = blocks.get(i);
      return b != null && b.length > 0 && b.length <= w.node.provider(tier).maxRegionBytes();
    }

    /** Answers block {@code i}, which {@link #needsPlacement} refused, without a window. */
    void resolveWithoutStaging(int i, StagingWindow w) {
      ServedBlock b = blocks.get(i);
      if (b == null) {
        return; // not published: stays null
      }
      if (b.length > 0) {
        w.logFallback(this, 1, b.length, "the block is larger than the largest region the window takes");
      }
      answers.set(i, inPlaceLocation(b, w));
    }

    void deferRest() {
      for (int i = next; i < blocks.size(); i++) {
        answers.set(i, blocks.get(i) == null ? null : Location.DEFERRED);
      }
    }

    void fallBackRest(StagingWindow w) {
      int count = 0;
      long bytes = 0;
      for (int i = next; i < blocks.size(); i++) {
        ServedBlock b = blocks.get(i);
        if (b != null) {
          answers.set(i, inPlaceLocation(b, w));
          count++;
          bytes += b.length;
        }
      }
      w.logFallback(this, count, bytes, "no room within stage.wait");
    }

    /**
     * The block's place on the in-place tiers (tcp), with its checksum only when known: computing it reads the
     * file, which {@link #complete} does outside the window's lock.
     */
    Location inPlaceLocation(ServedBlock b, StagingWindow w) {
      Map<Tier, Placement> placements = new EnumMap<>(Tier.class);
      if (b.inPlace != null) {
        b.inPlace.descriptors().forEach((t, d) -> placements.put(t, new Placement(d, b.inPlaceOffset)));
      }
      return new Location(b.length, b.knownChecksum(), 0, placements);
    }

    /** The staged block's location: the staged region first, its in-place places for a fallback. */
    Location location(ServedBlock b, Integer crc, Registration staged) {
      Map<Tier, Placement> placements = new EnumMap<>(Tier.class);
      staged.descriptors().forEach((t, d) -> placements.put(t, new Placement(d, 0)));
      if (b.inPlace != null) {
        b.inPlace.descriptors().forEach((t, d) -> placements.putIfAbsent(t, new Placement(d, b.inPlaceOffset)));
      }
      return new Location(b.length, crc, 0, placements);
    }

    /** For a tier that does not stage: every block's in-place location. */
    void answerInPlace(StagingWindow w) {
      for (int i = 0; i < blocks.size(); i++) {
        if (blocks.get(i) != null) {
          answers.set(i, inPlaceLocation(blocks.get(i), w));
        }
      }
      complete(w);
    }

    /** Sends the answer, with the checksums of unstaged blocks computed first (from their files; on a staging thread). */
    void complete(StagingWindow w) {
      try {
        for (int i = 0; i < answers.size(); i++) {
          Location l = answers.get(i);
          if (w.checksum && l != null && !l.deferred() && l.checksum() == null) {
            answers.set(i, l.withChecksum(blocks.get(i).checksum(null)));
          }
        }
        answer.complete(answers);
      } catch (IOException | RuntimeException e) {
        answer.completeExceptionally(new TransportException("cannot checksum blocks: " + e, e));
      }
    }
  }
}
