package io.vrdma.transport.shm;

import io.vrdma.transport.RegionView;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.RegionNotFoundException;
import io.vrdma.transport.TransportException.ResourceFullException;
import io.vrdma.transport.config.TransportConf;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One shared-memory file mapped by several processes at once, in which each process claims space for
 * regions that the others read directly. On a host the file lives under {@code /dev/shm}; inside a VM it
 * is an IVSHMEM PCI BAR such as {@code /sys/bus/pci/devices/0000:00:05.0/resource2}, which already exists
 * with a fixed size and can be neither resized nor deleted, so this class never truncates or deletes the
 * file. There is no lock and no coordinating daemon: processes agree only through atomic operations
 * (compare-and-set, acquire loads, release stores) on 8-byte-aligned words of the mapping, because that is
 * all that works across VMs sharing one BAR.
 *
 * <p>This class is the attachment's facade; each part of the arena has its own class:
 *
 * <ul>
 *   <li>{@link ArenaLayout}: the file layout (header, process table, chunk table, data area) and its
 *       constants, and one arena's geometry;
 *   <li>{@link ArenaFile} and {@link ArenaHeader}: opening or creating the file, and the header's
 *       initialisation protocol;
 *   <li>{@link ArenaMapping}: the mappings, header and tables as one buffer and the data area as windows, so
 *       that an arena may be larger than one Java buffer (an IVSHMEM BAR of 64 GiB);
 *   <li>{@link ProcessTable}: this attachment's slot and heartbeat, eviction, and reclaiming dead processes;
 *   <li>{@link ChunkTable}: chunk ownership and keys, and the allocator of chunk runs;
 *   <li>{@link ArenaReader}: descriptor validation and the validate-copy-validate reads and views;
 *   <li>{@link ArenaPreallocator}: backing the data area's pages up front.
 * </ul>
 *
 * <h2>Protocol</h2>
 *
 * <ul>
 *   <li>Initialisation: whoever moves the init state from 0 to 1 lays out the header and then publishes
 *       state 2; everyone else waits for state 2. An initialised arena's chunk size and slot count win
 *       over the caller's.
 *   <li>A process claims a slot by moving its token word from 0 to its token, and refreshes its heartbeat
 *       from a daemon thread. A process whose heartbeat is older than the liveness timeout is dead: any
 *       process may free its chunks and then its slot. A reclaimer first moves the dead heartbeat to the
 *       current time with compare-and-set, so that two reclaimers never both act on one observation and a
 *       process that wakes up in time keeps its slot.
 *   <li>A region is a run of chunks whose owner words hold the token, within one data window. It becomes
 *       readable when its key is written into its chunk entries (release store after the owner filled the
 *       data); freeing clears the keys before the owners, so a reader either sees the key and valid data, or
 *       fails.
 *   <li>A read validates owner and key of every chunk it touches, copies, and validates again: a region
 *       freed and reused during the copy is reported as gone, never delivered as data.
 * </ul>
 *
 * <p>Heartbeats use the wall clock, not {@code nanoTime}, because VMs on one host share no monotonic
 * clock; the clocks of the processes sharing an arena must agree to well within the liveness timeout, and
 * every process should use the same liveness timeout.
 *
 * <p>A process evicted because it stalled for longer than the liveness timeout can no longer allocate or
 * publish, but it may still write into regions it allocated before the stall, which by then can belong to
 * someone else; the liveness timeout must therefore be far longer than any expected pause (GC, VM
 * migration).
 *
 * <p>Instances are thread-safe.
 */
public final class SharedArena implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SharedArena.class);

  /** "VRDMASHM" in ASCII, so that the file's first bytes name what it is. */
  static final long MAGIC = ArenaLayout.MAGIC;
  static final long LAYOUT_VERSION = ArenaLayout.LAYOUT_VERSION;

  /** How long a process waits for another one to finish initialising or sizing a new arena. */
  static final long DEFAULT_INIT_WAIT_MILLIS = 5_000;

  private final Path path;
  private final boolean created;
  private final UUID arenaId;
  private final long token;
  private final ArenaLayout layout;
  private final ArenaMapping mapping;
  private final ChunkTable chunks;
  private final ProcessTable processes;
  private final ArenaReader reader;
  /** Attached only to read others' regions: no process slot, no heartbeat, nothing to allocate. */
  private final boolean readOnly;
  private final SecureRandom random;
  private final AtomicBoolean closed = new AtomicBoolean();

  private SharedArena(Path path, ArenaLayout layout, ArenaMapping mapping, UUID arenaId, boolean created,
      SecureRandom random, long heartbeatMillis, long livenessMillis, boolean readOnly) throws TransportException {
    this.path = path;
    this.readOnly = readOnly;
    this.layout = layout;
    this.mapping = mapping;
    this.arenaId = arenaId;
    this.created = created;
    this.random = random;
    this.token = nonZero(random);
    this.chunks = new ChunkTable(path, mapping.metadata(), layout, mapping.chunksPerWindow());
    this.processes = new ProcessTable(path, mapping.metadata(), layout, chunks, token, livenessMillis,
        closed::get);
    this.reader = new ArenaReader(path, layout, mapping, chunks, closed::get);
    if (!readOnly) {
      processes.join(heartbeatMillis);
    }
  }

  /**
   * Maps the arena at {@code path}, creating and initialising it when needed, and claims a process slot.
   *
   * @param path the arena file: under {@code /dev/shm}, or an IVSHMEM BAR resource file
   * @param createBytes size of the file when this call creates it; ignored for an existing file, whose
   *     size is kept
   * @param chunkBytes allocation unit when this call initialises the arena, a power of two of at least
   *     4096; an initialised arena keeps its own
   * @param maxProcesses process slots when this call initialises the arena; an initialised arena keeps
   *     its own
   * @param heartbeatMillis how often this process refreshes its heartbeat
   * @param livenessMillis how old another process's heartbeat may get before it is taken as dead
   * @return the attachment, to be closed when this process stops using the arena
   * @throws ResourceFullException when every process slot is held by a live process
   * @throws TransportException when the file cannot be created or mapped, is larger than its chunk table
   *     can address ({@link #maxArenaBytes}) when created, is not an arena of this layout version, or stays
   *     uninitialised
   */
  public static SharedArena attach(Path path, long createBytes, int chunkBytes, int maxProcesses,
      long heartbeatMillis, long livenessMillis) throws TransportException {
    return attach(path, createBytes, chunkBytes, maxProcesses, heartbeatMillis, livenessMillis,
        DEFAULT_INIT_WAIT_MILLIS);
  }

  /** Attaches to (or creates) the arena a node's configuration names, with its sizes and timings. */
  public static SharedArena attach(TransportConf conf) throws TransportException {
    return attach(conf, false);
  }

  /**
   * Attaches to the arena a node's configuration names only to read the regions other processes publish
   * there: no process slot is claimed (so readers, such as a node's many short-lived reduce tasks, never use
   * up the slots the arena's writers need), no heartbeat runs, no dead process is reclaimed, and {@link
   * #allocate} refuses. A reader needs no slot: every read validates the region's owner and key in the chunk
   * table, before and after the copy.
   */
  public static SharedArena attachForReading(TransportConf conf) throws TransportException {
    return attach(conf, true);
  }

  private static SharedArena attach(TransportConf conf, boolean readOnly) throws TransportException {
    return attach(Path.of(conf.get(TransportConf.SHM_ARENA_PATH)), conf.get(TransportConf.SHM_ARENA_BYTES),
        conf.getInt(TransportConf.SHM_CHUNK_BYTES), conf.getInt(TransportConf.SHM_MAX_PROCESSES),
        conf.get(TransportConf.SHM_HEARTBEAT), conf.get(TransportConf.SHM_LIVENESS_TIMEOUT),
        DEFAULT_INIT_WAIT_MILLIS, 0, readOnly);
  }

  /** As {@link #attach(Path, long, int, int, long, long)}, with the initialisation wait chosen by tests. */
  static SharedArena attach(Path path, long createBytes, int chunkBytes, int maxProcesses,
      long heartbeatMillis, long livenessMillis, long initWaitMillis) throws TransportException {
    return attach(path, createBytes, chunkBytes, maxProcesses, heartbeatMillis, livenessMillis, initWaitMillis,
        0, false);
  }

  /**
   * As {@link #attach(Path, long, int, int, long, long)}, with the initialisation wait and the data window
   * size chosen by tests, so that several windows can be exercised with a small file.
   *
   * @param windowBytes data window size, a multiple of the chunk size; 0 for the arena's own. Every process
   *     attached to one arena must use the same, or regions one allocates may cross another's windows.
   */
  static SharedArena attach(Path path, long createBytes, int chunkBytes, int maxProcesses,
      long heartbeatMillis, long livenessMillis, long initWaitMillis, long windowBytes, boolean readOnly)
      throws TransportException {
    if (chunkBytes < ArenaLayout.MIN_CHUNK_BYTES || chunkBytes > ArenaLayout.MAX_CHUNK_BYTES
        || Integer.bitCount(chunkBytes) != 1) {
      throw new IllegalArgumentException("shm chunk size " + chunkBytes + " must be a power of two between "
          + ArenaLayout.MIN_CHUNK_BYTES + " and " + ArenaLayout.MAX_CHUNK_BYTES);
    }
    if (maxProcesses < 1) {
      throw new IllegalArgumentException("shm arena needs at least one process slot, not " + maxProcesses);
    }
    if (heartbeatMillis <= 0 || livenessMillis <= 0) {
      throw new IllegalArgumentException("shm heartbeat " + heartbeatMillis + " ms and liveness timeout "
          + livenessMillis + " ms must be positive");
    }
    if (livenessMillis < 2 * heartbeatMillis) {
      // Allowed (tests simulate stalls this way), but in production it evicts healthy processes.
      LOG.warn("shm liveness timeout {} ms is less than twice the heartbeat interval {} ms: live processes"
          + " may be taken as dead", livenessMillis, heartbeatMillis);
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(initWaitMillis);
    ArenaFile file = ArenaFile.open(path, createBytes, chunkBytes, maxProcesses, deadline);
    ArenaLayout layout;
    ArenaMapping mapping;
    UUID id;
    try {
      ByteBuffer header = ArenaMapping.mapHeader(path, file.channel());
      layout = ArenaHeader.initialise(path, header, file.size(), chunkBytes, maxProcesses, deadline);
      id = ArenaHeader.arenaId(header);
      // The mappings outlive the channel; they go when the last buffer referencing them is collected.
      mapping = ArenaMapping.map(path, file.channel(), layout, windowBytes);
    } finally {
      ArenaFile.closeQuietly(file.channel());
    }

    SharedArena arena = new SharedArena(path, layout, mapping, id, file.created(), new SecureRandom(),
        heartbeatMillis, livenessMillis, readOnly);
    if (layout.chunkBytes != chunkBytes || layout.slotCount != maxProcesses) {
      LOG.info("shm arena {} keeps its own chunk size {} and {} process slots (asked: {} and {})", path,
          layout.chunkBytes, layout.slotCount, chunkBytes, maxProcesses);
    }
    LOG.info("attached to shm arena {} ({}): {} bytes, {} chunks of {} bytes in {} windows, {}", path, id,
        layout.sizeBytes, layout.chunkCount, layout.chunkBytes, mapping.windowCount(),
        readOnly ? "for reading only (no process slot)"
            : "process slot " + arena.processes.slot() + " of " + layout.slotCount);
    return arena;
  }

  /**
   * The largest arena file whose every chunk the chunk table can address with these chunks and process slots.
   * Header and tables are mapped as one buffer, so they must fit in 2 GiB - 1 bytes; with 64 KiB chunks that
   * allows arenas of about 8 TiB, with 4 KiB chunks about 512 GiB.
   */
  public static long maxArenaBytes(long chunkBytes, long maxProcesses) {
    return ArenaLayout.maxArenaBytes(chunkBytes, maxProcesses);
  }

  /** The random id written into the header by whoever initialised the arena; the same for all attachments. */
  public UUID arenaId() {
    return arenaId;
  }

  /** This attachment's owner token: random, nonzero, and the owner of every region it allocates. */
  public long token() {
    return token;
  }

  /** The arena file. */
  public Path path() {
    return path;
  }

  /** Bytes of the arena file, header and tables included. */
  public long sizeBytes() {
    return layout.sizeBytes;
  }

  /** The allocation unit: every region occupies a whole number of chunks. */
  public int chunkBytes() {
    return layout.chunkBytes;
  }

  /** Chunks in the data area. */
  public int chunkCount() {
    return layout.chunkCount;
  }

  /**
   * The largest region this arena holds: the whole data area of an arena of at most 2 GiB - 1 bytes, one
   * data window (1 GiB) of a larger one.
   */
  public long maxRegionBytes() {
    return (long) mapping.chunksPerWindow() * layout.chunkBytes;
  }

  /** Chunks no process owns right now; a snapshot that other processes may change at once. */
  public int freeChunks() {
    return chunks.freeChunks();
  }

  /** Process slots holding a token right now (live or not yet reclaimed). */
  public int slotsInUse() {
    return processes.slotsInUse();
  }

  /** The process slot of this attachment. */
  int slot() {
    return processes.slot();
  }

  /** Data windows this attachment maps. */
  int windowCount() {
    return mapping.windowCount();
  }

  /** The data window holding the chunk at file offset {@code address}. */
  int windowOf(long address) {
    return mapping.windowOf((int) ((address - layout.dataOffset) / layout.chunkBytes));
  }

  /**
   * Claims a contiguous run of chunks for a region of {@code length} bytes, owned by this attachment and
   * not readable until {@link ArenaRegion#publish()}.
   *
   * @param length bytes of the region, at least 1
   * @return the region; close it to free its chunks
   * @throws ResourceFullException when no run of free chunks is long enough, even after reclaiming the
   *     space of dead processes, or the region is larger than {@link #maxRegionBytes()}; the caller may use
   *     another tier
   * @throws TransportException when this attachment was evicted for missing its heartbeats
   */
  public ArenaRegion allocate(long length) throws TransportException {
    if (length < 1) {
      throw new IllegalArgumentException("shm region of " + length + " bytes asked for; regions hold at least 1");
    }
    if (readOnly) {
      throw new TransportException("shm arena " + path + " is attached for reading only: this process publishes"
          + " no regions there");
    }
    checkUsable();
    long needed = length / layout.chunkBytes + (length % layout.chunkBytes == 0 ? 0 : 1);
    if (needed > layout.chunkCount) {
      throw new ResourceFullException("shm arena " + path + " cannot hold " + length + " bytes: its data area"
          + " is " + layout.dataBytes() + " bytes; use another tier for regions this large");
    }
    if (needed > mapping.chunksPerWindow()) {
      throw new ResourceFullException("shm arena " + path + " cannot hold " + length + " bytes in one region:"
          + " a region lies within one mapped window of " + maxRegionBytes() + " bytes; use another tier for"
          + " regions this large");
    }
    int count = (int) needed;
    int first = chunks.claimRun(token, count);
    if (first < 0) {
      // Retried even when nothing was reclaimed: the orphan sweep or other processes may have freed space.
      processes.reclaimDeadProcesses();
      first = chunks.claimRun(token, count);
    }
    if (first < 0) {
      throw chunks.full(length);
    }
    if (!processes.holdsSlot() || closed.get()) {
      // Reclaimed (or closed) while claiming: these chunks would be orphans, give them back.
      for (int c = first; c < first + count; c++) {
        chunks.freeChunk(c, token);
      }
      checkUsable();
      processes.markEvicted("its process slot was reclaimed");
      throw processes.evictedException();
    }
    chunks.clearKeys(first, count);
    return new ArenaRegion(this, first, count, length, nonZero(random));
  }

  /**
   * Copies part of a published region into {@code dst}, after checking that the descriptor names a region
   * that exists, is published and belongs to {@code owner}. The check runs again after the copy, so that
   * data of a region freed and reused meanwhile is never returned.
   *
   * @param owner the owner token in the descriptor
   * @param address the region's byte offset in the arena file
   * @param key the region key in the descriptor
   * @param regionLength the region's length in the descriptor
   * @param offset where in the region to start reading
   * @param length bytes to read; 0 is a valid empty read
   * @param dst where to copy to, at absolute index {@code dstOffset}; its position is not changed
   * @param dstOffset index in {@code dst} of the first byte copied
   * @throws InvalidDescriptorException when the descriptor or read is malformed, points outside the data
   *     area, or outside its owner's space
   * @throws RegionNotFoundException when the region was freed, never published, or freed during the copy
   * @throws TransportException when this attachment is closed
   * @throws IllegalArgumentException when {@code dst} has no room for {@code length} bytes at
   *     {@code dstOffset}
   */
  public void copyOut(long owner, long address, long key, long regionLength, long offset, int length,
      ByteBuffer dst, int dstOffset) throws TransportException {
    reader.copyOut(owner, address, key, regionLength, offset, length, dst, dstOffset);
  }

  /**
   * A read-only view of part of a published region, without copying. The descriptor is validated once,
   * when the view is made: the caller must know by other means (for instance, the owner promised not to
   * free the region until told) that the region outlives the use of the view, because the view would show
   * whatever a later owner of the chunks writes.
   *
   * @return a read-only buffer of {@code length} bytes, position 0
   * @throws InvalidDescriptorException when the descriptor or read is malformed, points outside the data
   *     area, or outside its owner's space
   * @throws RegionNotFoundException when the region was freed or never published
   * @throws TransportException when this attachment is closed
   */
  public ByteBuffer readOnlySlice(long owner, long address, long key, long regionLength, long offset,
      int length) throws TransportException {
    return reader.readOnlySlice(owner, address, key, regionLength, offset, length);
  }

  /**
   * A window onto part of a published region, without copying: validated now, and again by each
   * {@link RegionView#checkValid()}, so a reader that checks after using the bytes knows whether the region
   * stayed the same all along.
   *
   * @throws InvalidDescriptorException when the descriptor or read is malformed, points outside the data
   *     area, or outside its owner's space
   * @throws RegionNotFoundException when the region was freed or never published
   * @throws TransportException when this attachment is closed
   */
  public RegionView view(long owner, long address, long key, long regionLength, long offset, int length)
      throws TransportException {
    return reader.view(owner, address, key, regionLength, offset, length);
  }

  /**
   * Frees the chunks and process slots of processes whose heartbeat is older than the liveness timeout,
   * and chunks left by processes that no longer hold a slot. Safe to run in several processes at once.
   *
   * @return how many dead processes' slots (and their space) this call reclaimed
   */
  public int reclaimDeadProcesses() {
    return processes.reclaimDeadProcesses();
  }

  /** Throws unless this attachment may still allocate and publish. */
  void checkUsable() throws TransportException {
    if (closed.get()) {
      throw new TransportException("shm arena " + path + " is closed");
    }
    if (processes.isEvicted()) {
      throw processes.evictedException();
    }
  }

  /** Whether this attachment only reads ({@link #attachForReading}). */
  public boolean readOnly() {
    return readOnly;
  }

  /** Whether this attachment is closed; regions stop handing out buffers then. */
  boolean isClosed() {
    return closed.get();
  }

  /**
   * Stops the heartbeat, frees this attachment's chunks and then its process slot. Regions of this
   * attachment become unreadable. The file stays (it may be a BAR, and other processes use it); the
   * mapping is not unmapped explicitly but dropped with the last buffer that references it. Closing twice
   * is harmless.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (readOnly) {
      LOG.info("detached from shm arena {} (a reader)", path);
      return;
    }
    processes.stopHeartbeat();
    int freed = chunks.freeChunksOf(token);
    boolean released = processes.leave();
    LOG.info("detached from shm arena {}: {} chunks freed{}", path, freed,
        released ? "" : " (its process slot had already been reclaimed)");
  }

  /**
   * Whether this attachment created the arena file. Its pages are then not backed by memory yet; an existing
   * arena's pages have been touched by the processes that used it before, and stay backed as long as the file
   * exists.
   */
  public boolean createdHere() {
    return created;
  }

  /**
   * Makes the kernel back every page of the data area now, by reading one byte of each through this process's
   * mapping. On tmpfs the first touch of a page allocates and zeroes it, which costs about twice as much as
   * copying a page's worth of shuffle bytes into it; done here, before registrations need the space, that
   * cost leaves the map tasks' path, and a file system too small for the arena shows now, not as a failed
   * registration later. Reading cannot disturb what other processes write meanwhile. Stops early when the
   * arena is closed. Commits the arena's memory up front, which is what the operator sized it for.
   *
   * @return the bytes touched
   */
  public long preallocate() {
    return ArenaPreallocator.touch(path, mapping, layout.dataBytes(), closed::get);
  }

  // -- for ArenaRegion

  /** A writable buffer over a region's bytes; the run lies in one window, as the allocator guarantees. */
  ByteBuffer slice(int firstChunk, long length) {
    return mapping.slice((long) firstChunk * layout.chunkBytes, (int) length);
  }

  long chunkAddress(int chunk) {
    return layout.chunkAddress(chunk);
  }

  /** Writes the region key into its chunks; fails when any chunk is no longer this attachment's. */
  void publish(int firstChunk, int count, long key) throws TransportException {
    checkUsable();
    if (!chunks.ownsAll(token, firstChunk, count)) {
      processes.markEvicted("a chunk of its region was reclaimed");
      throw processes.evictedException();
    }
    chunks.publish(firstChunk, count, key);
  }

  /** Frees a region's chunks: every key first, so readers fail before any chunk can be reused. */
  void free(int firstChunk, int count, long key) {
    chunks.free(token, firstChunk, count, key);
  }

  private static long nonZero(SecureRandom random) {
    long value;
    do {
      value = random.nextLong();
    } while (value == 0);
    return value;
  }

  /** For logs: path, arena id, token and slot. */
  @Override
  public String toString() {
    return "SharedArena[" + path + ", " + arenaId + ", token " + Long.toHexString(token) + ", slot "
        + processes.slot() + "]";
  }
}
