package io.vrdma.transport.shm;

import static io.vrdma.transport.shm.ArenaLayout.S_ATTACHED;
import static io.vrdma.transport.shm.ArenaLayout.S_HEARTBEAT;
import static io.vrdma.transport.shm.ArenaLayout.S_PID;
import static io.vrdma.transport.shm.ArenaLayout.S_TOKEN;

import io.vrdma.transport.TransportException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process table as seen by one attachment: its own slot and heartbeat, whether it was evicted, and the
 * reclaiming of dead processes' slots and chunks.
 *
 * <p>A process claims a slot by moving its token word from 0 to its token, and refreshes its heartbeat from
 * a daemon thread. A process whose heartbeat is older than the liveness timeout is dead: any process may
 * free its chunks and then its slot. A reclaimer first moves the dead heartbeat to the current time with
 * compare-and-set, so that two reclaimers never both act on one observation and a process that wakes up in
 * time keeps its slot. Heartbeats use the wall clock, not {@code nanoTime}, because VMs on one host share no
 * monotonic clock.
 */
final class ProcessTable {
  // The arena's logger, so that operators' log settings for the arena cover every part of it.
  private static final Logger LOG = LoggerFactory.getLogger(SharedArena.class);

  private final Path path;
  private final ByteBuffer memory;
  private final ArenaLayout layout;
  private final ChunkTable chunks;
  private final long token;
  private final long livenessMillis;
  private final BooleanSupplier closed;
  private int slot = -1;
  private volatile boolean evicted;
  private ScheduledThreadPoolExecutor heartbeat;
  private volatile Thread heartbeatThread;

  ProcessTable(Path path, ByteBuffer memory, ArenaLayout layout, ChunkTable chunks, long token,
      long livenessMillis, BooleanSupplier closed) {
    this.path = path;
    this.memory = memory;
    this.layout = layout;
    this.chunks = chunks;
    this.token = token;
    this.livenessMillis = livenessMillis;
    this.closed = closed;
  }

  /**
   * Claims a slot for this attachment and starts its heartbeat.
   *
   * @throws TransportException.ResourceFullException when every slot is held by a live process
   */
  void join(long heartbeatMillis) throws TransportException {
    // Reclaim first: a dead process may hold the only free slot, or the space this process will need.
    reclaimDeadProcesses();
    int claimed = claimSlot();
    if (claimed < 0) {
      reclaimDeadProcesses();
      claimed = claimSlot();
    }
    if (claimed < 0) {
      throw new TransportException.ResourceFullException("shm arena " + path + " has no free process slot ("
          + slotsInUse() + " in use of " + layout.slotCount + "); close idle processes, wait for dead ones to"
          + " time out, or recreate the arena with more slots");
    }
    slot = claimed;
    heartbeat = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "vrdma-shm-heartbeat");
      t.setDaemon(true);
      heartbeatThread = t;
      return t;
    });
    heartbeat.scheduleWithFixedDelay(this::beat, heartbeatMillis, heartbeatMillis, TimeUnit.MILLISECONDS);
  }

  /** The slot of this attachment. */
  int slot() {
    return slot;
  }

  /** Whether this attachment still holds its slot (it loses it when found dead). */
  boolean holdsSlot() {
    return ArenaWords.get(memory, layout.slotWord(slot, S_TOKEN)) == token;
  }

  /** Process slots holding a token right now (live or not yet reclaimed). */
  int slotsInUse() {
    int used = 0;
    for (int s = 0; s < layout.slotCount; s++) {
      if (ArenaWords.get(memory, layout.slotWord(s, S_TOKEN)) != 0) {
        used++;
      }
    }
    return used;
  }

  /** Claims a free process slot; returns it, or -1 when all are taken. */
  private int claimSlot() {
    long now = System.currentTimeMillis();
    for (int s = 0; s < layout.slotCount; s++) {
      if (ArenaWords.get(memory, layout.slotWord(s, S_TOKEN)) != 0) {
        continue;
      }
      // Fresh heartbeat before the token: a reclaimer that sees the token must not see a stale heartbeat
      // left by the slot's previous holder. Writing into a slot another process wins only refreshes it.
      ArenaWords.put(memory, layout.slotWord(s, S_HEARTBEAT), now);
      if (ArenaWords.compareAndSet(memory, layout.slotWord(s, S_TOKEN), 0L, token)) {
        ArenaWords.put(memory, layout.slotWord(s, S_PID), ProcessHandle.current().pid());
        ArenaWords.put(memory, layout.slotWord(s, S_ATTACHED), now);
        ArenaWords.put(memory, layout.slotWord(s, S_HEARTBEAT), System.currentTimeMillis());
        return s;
      }
    }
    return -1;
  }

  private void beat() {
    try {
      if (!holdsSlot()) {
        markEvicted("another process found its heartbeat older than the liveness timeout");
        heartbeat.shutdown();
        return;
      }
      ArenaWords.put(memory, layout.slotWord(slot, S_HEARTBEAT), System.currentTimeMillis());
    } catch (RuntimeException e) {
      // An exception would silently cancel the schedule, and the process would soon look dead.
      LOG.warn("shm arena {}: heartbeat failed", path, e);
    }
  }

  /** Records that this attachment lost its slot or chunks; it allocates and publishes no more. */
  void markEvicted(String why) {
    if (!evicted && !closed.getAsBoolean()) {
      evicted = true;
      LOG.warn("shm arena {}: this process (token {}) was evicted: {}; it allocates and publishes no more"
          + " regions there", path, Long.toHexString(token), why);
    }
  }

  boolean isEvicted() {
    return evicted;
  }

  TransportException evictedException() {
    return new TransportException("shm arena " + path + ": this process was evicted (its heartbeat went stale"
        + " and its space was reclaimed); reattach or use another tier");
  }

  /**
   * Frees the chunks and process slots of processes whose heartbeat is older than the liveness timeout,
   * and chunks left by processes that no longer hold a slot. Safe to run in several processes at once.
   *
   * @return how many dead processes' slots (and their space) this call reclaimed
   */
  int reclaimDeadProcesses() {
    int reclaimed = 0;
    long now = System.currentTimeMillis();
    for (int s = 0; s < layout.slotCount; s++) {
      long dead = ArenaWords.get(memory, layout.slotWord(s, S_TOKEN));
      long beat = ArenaWords.get(memory, layout.slotWord(s, S_HEARTBEAT));
      if (dead == 0 || dead == token || now - beat <= livenessMillis) {
        continue;
      }
      // Taking the heartbeat word is the reclaimer's lock: a second reclaimer of the same observation, or
      // the process itself waking up, makes this fail.
      if (!ArenaWords.compareAndSet(memory, layout.slotWord(s, S_HEARTBEAT), beat, now)) {
        continue;
      }
      int freed = chunks.freeChunksOf(dead);
      if (ArenaWords.compareAndSet(memory, layout.slotWord(s, S_TOKEN), dead, 0L)) {
        reclaimed++;
        LOG.info("shm arena {}: reclaimed dead process {} (pid {}, heartbeat {} ms old): {} chunks freed", path,
            Long.toHexString(dead), ArenaWords.get(memory, layout.slotWord(s, S_PID)), now - beat, freed);
      }
    }
    sweepOrphans();
    return reclaimed;
  }

  /**
   * Frees chunks whose owner holds no slot: left when an owner was reclaimed while allocating. Owners are
   * read from the chunks before the slots are read, so an owner that claims a slot after the slot scan
   * cannot have chunks in the earlier chunk scan.
   */
  private void sweepOrphans() {
    Set<Long> owners = chunks.owners();
    if (owners.isEmpty()) {
      return;
    }
    for (int s = 0; s < layout.slotCount; s++) {
      owners.remove(ArenaWords.get(memory, layout.slotWord(s, S_TOKEN)));
    }
    for (long orphan : owners) {
      int freed = chunks.freeChunksOf(orphan);
      if (freed > 0) {
        LOG.info("shm arena {}: freed {} chunks of {}, which holds no process slot", path, freed,
            Long.toHexString(orphan));
      }
    }
  }

  /** Stops the heartbeat and waits for its thread, so that no beat lands after the slot is released. */
  void stopHeartbeat() {
    heartbeat.shutdownNow();
    try {
      heartbeat.awaitTermination(5, TimeUnit.SECONDS);
      Thread t = heartbeatThread;
      if (t != null) {
        t.join(5_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Gives the slot back; false when it had already been reclaimed. */
  boolean leave() {
    return ArenaWords.compareAndSet(memory, layout.slotWord(slot, S_TOKEN), token, 0L);
  }
}
