package io.vrdma.block.server;

import io.vrdma.block.BlockConf;
import io.vrdma.block.protocol.Messages.LocateAnswer;
import io.vrdma.block.protocol.Messages.Location;
import io.vrdma.block.protocol.Messages.Placement;
import io.vrdma.block.protocol.Messages.Run;
import io.vrdma.transport.InboundConnection;
import io.vrdma.transport.Registration;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.ResourceFullException;
import io.vrdma.transport.TransportNode;
import java.io.IOException;
import java.nio.ByteBuffer;
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
 *   <li>Blocks asked for one after another that lie back to back in one file form a <em>run</em> (up to the
 *       reader's {@code maxRunBytes}): it is staged with one copy (or registration) under one lease, and read with
 *       one read. A block is a run of its own when its neighbours are not asked for.
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
  /**
   * A run served in place (socket tiers) of at least this many bytes is answered before its blocks' checksums are
   * known: they are computed while the reader reads the run, and the reader asks for them after (CHECKSUMS). A pass
   * over the file before the answer would cost about what the transfer does and sit on every such block's path.
   */
  static final long CHECKSUM_LATER_BYTES = 256 * 1024;
  private static final String PEER_STATE = "vrdma.block.leases";

  private final TransportNode node;
  private final boolean checksum;
  private final long maxBytesPerPeer;
  private final long waitNanos;
  private final long leaseTimeoutNanos;
  private final long inlineAnswerBytes;
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
  /** Leases taken back whose registrations are not closed yet (they are closed outside the lock). */
  private int freeing;
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
    this.inlineAnswerBytes = conf.get(BlockConf.STAGE_INLINE_ANSWER_BYTES);
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

  /**
   * Whether blocks read over {@code tier} are staged (the node has the tier and it holds copies or pins); the
   * socket tiers (tcp, rsocket) serve blocks where they lie.
   */
  boolean stages(Tier tier) {
    return !tier.readsOverSocket() && node.has(tier);
  }

  StagingMetrics metrics() {
    return metrics;
  }

  /**
   * The checksums of {@code blocks} (null entries: not published), as promised by an in-place answer: each computed
   * once on the staging threads, usually while the reader read the block.
   */
  CompletableFuture<Integer[]> checksums(List<ServedBlock> blocks) {
    List<CompletableFuture<Integer>> each = new ArrayList<>(blocks.size());
    for (ServedBlock b : blocks) {
      each.add(b == null ? CompletableFuture.completedFuture(null) : b.checksumLater(stagers));
    }
    return CompletableFuture.allOf(each.toArray(new CompletableFuture<?>[0]))
        .thenApply(x -> each.stream().map(CompletableFuture::join).toArray(Integer[]::new));
  }

  /**
   * Answers a locate: runs of at most {@code maxInlineBytes} go in the answer itself (up to the answer's inline
   * budget); for a staging tier, the others are placed (as many as the window takes) and leased to the peer; for
   * the others, their in-place locations. Null entries of {@code blocks} are blocks not published.
   */
  CompletableFuture<LocateAnswer> locate(InboundConnection peer, Tier tier, int maxRunBytes, int maxInlineBytes,
      List<ServedBlock> blocks) {
    long maxRun = stages(tier) ? Math.min(maxRunBytes, node.provider(tier).maxRegionBytes()) : maxRunBytes;
    Request request = new Request(peerState(peer), tier, blocks, Math.min(maxRun, peerLimit(tier)),
        Math.min(maxInlineBytes, inlineAnswerBytes), inlineAnswerBytes);
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
        if (lease.run.namespace().equals(namespace)) {
          done.add(take(lease));
        }
      }
    }
    free(done);
  }

  /** Leases held right now, over all peers: taken back ones count until their space is actually free. */
  int leasesHeld() {
    synchronized (lock) {
      return leases.size() + freeing;
    }
  }

  /** Bytes staged right now, over all peers. */
  long bytesHeld() {
    synchronized (lock) {
      return leases.values().stream().mapToLong(l -> l.run.length).sum();
    }
  }

  /** What one reader connection may hold staged on {@code tier}: the per-peer limit, at most half the window. */
  private long peerLimit(Tier tier) {
    return stages(tier) ? Math.min(maxBytesPerPeer, Math.max(1, node.provider(tier).windowBytes() / 2))
        : Long.MAX_VALUE;
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
    lease.peer.heldBytes -= lease.run.length;
    full.remove(lease.tier);
    freeing++;
    return lease;
  }

  private void free(List<Lease> done) {
    for (Lease lease : done) {
      lease.registration.close();
      onReleased.accept(lease.run.first(), lease.registration);
      synchronized (lock) {
        freeing--;
      }
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
          done.size(), TimeUnit.NANOSECONDS.toMillis(leaseTimeoutNanos), done.get(0).run,
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
   * Must hold the lock. The next run to place, with its peer's credit reserved; requests that are complete,
   * or can go no further and have something to show, go to {@code answered}.
   */
  private Claim nextClaim(List<Request> answered) {
    long now = System.nanoTime();
    for (Iterator<Request> it = pending.iterator(); it.hasNext(); ) {
      Request r = it.next();
      if (r.busy) {
        continue;
      }
      while (r.next < r.groups.size() && !r.needsPlacement(r.next, this)) {
        r.resolveWithoutStaging(r.next, this);
        r.next++;
      }
      if (r.next == r.groups.size()) {
        it.remove();
        answered.add(r);
        continue;
      }
      Group group = r.groups.get(r.next);
      boolean peerAtLimit = r.peer.heldBytes > 0 && r.peer.heldBytes + group.length > peerLimit(r.tier);
      if (peerAtLimit || full.contains(r.tier)) {
        if (!r.waited) {
          r.waited = true;
          metrics.waited();
        }
        if (r.staged > 0 || r.inlined > 0) {
          it.remove();
          answered.add(r); // the groups not reached are answered as deferred
        } else if (now - r.arrived > waitNanos) {
          r.fallBackRest(this);
          it.remove();
          answered.add(r);
        }
        continue;
      }
      r.busy = true;
      r.peer.heldBytes += group.length;
      return new Claim(r, r.next, group);
    }
    return null;
  }

  /** Places one run on the request's tier, outside the lock, then records the outcome under it. */
  private void stage(Claim claim) {
    Request r = claim.request;
    Group group = claim.group;
    Registration registration = null;
    Run run = null;
    Integer[] checksums = null;
    Throwable failure = null;
    try {
      registration = node.register(group.source(), EnumSet.of(r.tier));
      onStaged.accept(group.first(), registration);
      checksums = checksum ? group.checksums(registration.copy().orElse(null)) : null;
      run = r.stagedRun(group, registration);
    } catch (IOException | RuntimeException e) {
      failure = e;
      if (registration != null) {
        registration.close();
        onReleased.accept(group.first(), registration);
      }
    }
    boolean fullNow = failure instanceof ResourceFullException;
    Lease lease = null;
    boolean keep;
    synchronized (lock) {
      r.busy = false;
      r.peer.heldBytes -= group.length;
      keep = run != null && !r.peer.closed && !closed;
      if (keep) {
        lease = new Lease(nextLeaseId++, r.peer, r.tier, group, registration, System.nanoTime());
        leases.put(lease.id, lease);
        r.peer.leases.add(lease);
        r.peer.heldBytes += group.length;
        r.answer(claim.index, new Run(lease.id, run.length(), run.placements()), checksums);
        r.staged++;
        r.next++;
      } else if (fullNow) {
        full.add(r.tier);
      } else if (failure != null) {
        LOG.info("cannot stage {} on {} ({}); its tcp place is given instead", group, r.tier.configName(),
            failure.getMessage());
        r.answer(claim.index, r.inPlaceRun(group), null);
        metrics.fellBack(group.blocks(), group.length);
        r.next++;
      }
    }
    if (run != null && !keep) {
      registration.close();
      onReleased.accept(group.first(), registration);
    }
    if (keep) {
      metrics.staged(group.blocks(), group.length);
    }
  }

  private void logFallback(Request r, int blocks, long bytes, String why) {
    metrics.fellBack(blocks, bytes);
    String namespace = r.groups.isEmpty() ? "?" : r.groups.get(0).first().namespace;
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
      onReleased.accept(lease.run.first(), lease.registration);
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

  private record Lease(long id, PeerState peer, Tier tier, Group run, Registration registration, long granted) {}

  private record Claim(Request request, int index, Group group) {}

  /**
   * Blocks {@code [from, to)} of a request that lie back to back in one file: one run of the answer.
   *
   * @param start the first block's offset in the file
   * @param length bytes from the first block's first byte to the last one's last
   */
  record Group(List<ServedBlock> all, int from, int to, long start, long length) {
    ServedBlock first() {
      return all.get(from);
    }

    int blocks() {
      return to - from;
    }

    String namespace() {
      return first().namespace;
    }

    io.vrdma.transport.RegionSource source() {
      return io.vrdma.transport.RegionSource.fileSegment(first().file, start, length);
    }

    /**
     * Each block's CRC32C (those not known yet computed): from the run's staged copy when the tier made one, else
     * from the file, opened once for the run.
     */
    Integer[] checksums(ByteBuffer copy) throws IOException {
      Integer[] out = new Integer[to - from];
      java.nio.channels.FileChannel file = null;
      try {
        for (int i = from; i < to; i++) {
          ServedBlock b = all.get(i);
          if (b.knownChecksum() != null) {
            out[i - from] = b.knownChecksum();
          } else if (copy != null) {
            out[i - from] = b.checksum(copy.duplicate().position((int) (b.fileOffset - start))
                .limit((int) (b.fileOffset - start + b.length)).slice());
          } else {
            if (file == null) {
              file = java.nio.channels.FileChannel.open(b.file, java.nio.file.StandardOpenOption.READ);
            }
            out[i - from] = b.checksum(file);
          }
        }
      } finally {
        if (file != null) {
          file.close();
        }
      }
      return out;
    }

    /**
     * Cuts the blocks asked for into groups: a group grows while the next block asked for is published, follows
     * the previous one in the same file and registration, and keeps the group within {@code maxRun} bytes.
     */
    static List<Group> plan(List<ServedBlock> blocks, long maxRun) {
      List<Group> groups = new ArrayList<>();
      int i = 0;
      while (i < blocks.size()) {
        ServedBlock first = blocks.get(i);
        if (first == null) {
          i++;
          continue;
        }
        int j = i + 1;
        long end = first.fileOffset + first.length;
        while (j < blocks.size()) {
          ServedBlock b = blocks.get(j);
          if (b == null || !b.file.equals(first.file) || b.inPlace != first.inPlace || b.fileOffset != end
              || end + b.length - first.fileOffset > maxRun) {
            break;
          }
          end += b.length;
          j++;
        }
        groups.add(new Group(blocks, i, j, first.fileOffset, end - first.fileOffset));
        i = j;
      }
      return groups;
    }

    @Override
    public String toString() {
      return blocks() == 1 ? first().toString() : blocks() + " blocks from " + first() + " (" + length + " bytes)";
    }
  }

  /** One locate request: its blocks in order, cut into groups, and the answer built so far. */
  private static final class Request {
    final PeerState peer;
    final Tier tier;
    final List<ServedBlock> blocks;
    final List<Group> groups;
    /**
     * Per group, its run once answered (null: not reached, so its blocks are deferred); an inline group's is made
     * when the answer is.
     */
    final Run[] runs;
    /** Per group, whether its bytes go in the answer (read from the file when the answer is made). */
    final boolean[] inline;
    final Integer[][] checksums;
    final CompletableFuture<LocateAnswer> answer = new CompletableFuture<>();
    final long arrived = System.nanoTime();
    int next;
    int staged;
    /** Groups that go in the answer: a request with some has something to show even when the window is full. */
    int inlined;
    boolean busy;
    boolean waited;
    /** Answered in place: the checksums of large runs not known yet are promised, not computed first. */
    boolean checksumsMayFollow;

    /**
     * @param maxInline the largest run that goes in the answer
     * @param inlineBudget the most inline bytes in the answer
     */
    Request(PeerState peer, Tier tier, List<ServedBlock> blocks, long maxRun, long maxInline, long inlineBudget) {
      this.peer = peer;
      this.tier = tier;
      this.blocks = blocks;
      this.groups = Group.plan(blocks, Math.max(1, maxRun));
      this.runs = new Run[groups.size()];
      this.checksums = new Integer[groups.size()][];
      this.inline = new boolean[groups.size()];
      long budget = inlineBudget;
      for (int i = 0; i < groups.size(); i++) {
        long length = groups.get(i).length;
        if (length > 0 && length <= maxInline && length <= budget) {
          inline[i] = true;
          inlined++;
          budget -= length;
        }
      }
    }

    /**
     * Whether group {@code i} goes into the window: not inline, not empty, and no larger than the tier's largest
     * region.
     */
    boolean needsPlacement(int i, StagingWindow w) {
      Group g = groups.get(i);
      return !inline[i] && g.length > 0 && g.length <= w.node.provider(tier).maxRegionBytes();
    }

    void answer(int group, Run run, Integer[] crcs) {
      runs[group] = run;
      checksums[group] = crcs;
    }

    /** Answers group {@code i}, which {@link #needsPlacement} refused, without a window (inline: at the end). */
    void resolveWithoutStaging(int i, StagingWindow w) {
      if (inline[i]) {
        return;
      }
      Group g = groups.get(i);
      if (g.length > 0) {
        w.logFallback(this, g.blocks(), g.length, "the block is larger than the largest region the window takes");
      }
      answer(i, inPlaceRun(g), null);
    }

    void fallBackRest(StagingWindow w) {
      int count = 0;
      long bytes = 0;
      for (int i = next; i < groups.size(); i++) {
        if (inline[i]) {
          continue; // not staged, but not a fallback either: its bytes go in the answer
        }
        Group g = groups.get(i);
        answer(i, inPlaceRun(g), null);
        count += g.blocks();
        bytes += g.length;
      }
      w.logFallback(this, count, bytes, "no room within stage.wait");
    }

    /** The group's place on the in-place tiers (tcp). */
    Run inPlaceRun(Group g) {
      Map<Tier, Placement> placements = new EnumMap<>(Tier.class);
      ServedBlock first = g.first();
      if (first.inPlace != null) {
        first.inPlace.descriptors().forEach((t, d) -> placements.put(t, new Placement(d, first.inPlaceOffset)));
      }
      return new Run(0, g.length, placements);
    }

    /** The staged run: the staged region first, its in-place places for a fallback; the lease comes later. */
    Run stagedRun(Group g, Registration staged) {
      Map<Tier, Placement> placements = new EnumMap<>(Tier.class);
      staged.descriptors().forEach((t, d) -> placements.put(t, new Placement(d, 0)));
      ServedBlock first = g.first();
      if (first.inPlace != null) {
        first.inPlace.descriptors().forEach((t, d) -> placements.putIfAbsent(t,
            new Placement(d, first.inPlaceOffset)));
      }
      return new Run(0, g.length, placements);
    }

    /**
     * For a tier that does not stage: every group's in-place run; the checksums of large runs follow (computed
     * while the reader reads them).
     */
    void answerInPlace(StagingWindow w) {
      for (int i = 0; i < groups.size(); i++) {
        answer(i, inPlaceRun(groups.get(i)), null);
      }
      checksumsMayFollow = true;
      complete(w);
    }

    /**
     * Sends the answer: answered groups become runs, the blocks of the others deferred; checksums not known from
     * a staged copy are computed from the files here (on a staging thread).
     */
    void complete(StagingWindow w) {
      try (InlineReads reads = new InlineReads()) {
        List<Run> out = new ArrayList<>();
        List<Location> locations = new ArrayList<>(java.util.Collections.nCopies(blocks.size(), (Location) null));
        for (int g = 0; g < groups.size(); g++) {
          Group group = groups.get(g);
          if (inline[g]) { // never waits for the window: read now
            ByteBuffer bytes = reads.read(group);
            runs[g] = Run.inline(bytes);
            checksums[g] = w.checksum ? group.checksums(bytes) : null;
            w.metrics.inlined(group.blocks(), group.length);
          } else if (runs[g] == null) {
            for (int i = group.from(); i < group.to(); i++) {
              locations.set(i, Location.DEFERRED);
            }
            continue;
          }
          int runIndex = out.size();
          out.add(runs[g]);
          boolean later = w.checksum && checksums[g] == null && checksumsMayFollow
              && group.length >= CHECKSUM_LATER_BYTES;
          if (w.checksum && checksums[g] == null && !later) {
            checksums[g] = group.checksums(null);
          }
          for (int i = group.from(); i < group.to(); i++) {
            ServedBlock b = blocks.get(i);
            if (later && b.knownChecksum() == null) {
              b.checksumLater(w.stagers);
              locations.set(i, new Location(runIndex, b.fileOffset - group.start(), b.length, null, true));
              continue;
            }
            Integer crc = !w.checksum ? null : later ? b.knownChecksum() : checksums[g][i - group.from()];
            locations.set(i, new Location(runIndex, b.fileOffset - group.start(), b.length, crc));
          }
        }
        answer.complete(new LocateAnswer(out, locations));
      } catch (IOException | RuntimeException e) {
        answer.completeExceptionally(new TransportException("cannot read or checksum blocks: " + e, e));
      }
    }
  }

  /** Reads inline runs from their files for one answer, each file opened once; closes them with the answer. */
  private static final class InlineReads implements AutoCloseable {
    private final Map<java.nio.file.Path, java.nio.channels.FileChannel> open = new HashMap<>();

    ByteBuffer read(Group group) throws IOException {
      java.nio.channels.FileChannel file = open.get(group.first().file);
      if (file == null) {
        file = java.nio.channels.FileChannel.open(group.first().file, java.nio.file.StandardOpenOption.READ);
        open.put(group.first().file, file);
      }
      ByteBuffer bytes = ByteBuffer.allocate((int) group.length);
      while (bytes.hasRemaining()) {
        if (file.read(bytes, group.start + bytes.position()) < 0) {
          throw new IOException("file " + group.first().file + " ends inside " + group);
        }
      }
      return bytes.flip();
    }

    @Override
    public void close() throws IOException {
      IOException first = null;
      for (java.nio.channels.FileChannel c : open.values()) {
        try {
          c.close();
        } catch (IOException e) {
          first = first == null ? e : first;
        }
      }
      if (first != null) {
        throw first;
      }
    }
  }
}
