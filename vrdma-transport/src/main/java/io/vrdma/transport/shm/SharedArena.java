package io.vrdma.transport.shm;

import io.vrdma.transport.RegionView;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.RegionNotFoundException;
import io.vrdma.transport.TransportException.ResourceFullException;
import io.vrdma.transport.config.TransportConf;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
 * <h2>Layout</h2>
 *
 * All words are little-endian longs, so that every process (and a hex dump) reads the same values.
 *
 * <pre>
 * header, 4096 bytes
 *   0  magic            "VRDMASHM" (the ASCII bytes, read as a little-endian long)
 *   8  init state       0 none, 1 initialising, 2 ready
 *  16  layout version   1
 *  24  total size       bytes of the file when it was initialised
 *  32  chunk size       allocation unit, a power of two
 *  40  chunk count
 *  48  process slots    entries in the process table
 *  56  arena id         UUID, most significant long
 *  64                   UUID, least significant long
 *  72  process table offset (4096)
 *  80  chunk table offset
 *  88  data area offset (a multiple of the chunk size)
 * process table, process slots x 64 bytes
 *   +0 token            the attachment's random owner token, 0 = slot free
 *   +8 heartbeat        System.currentTimeMillis() of its last heartbeat
 *  +16 pid
 *  +24 attach time      System.currentTimeMillis() when it attached
 * chunk table, chunk count x 16 bytes
 *   +0 owner token      0 = chunk free
 *   +8 region key       0 = not published
 * data area, chunk count x chunk size
 * </pre>
 *
 * <p>Heartbeats use the wall clock, not {@code nanoTime}, because VMs on one host share no monotonic
 * clock; the clocks of the processes sharing an arena must agree to well within the liveness timeout, and
 * every process should use the same liveness timeout.
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
 *   <li>A region is a run of chunks whose owner words hold the token. It becomes readable when its key is
 *       written into its chunk entries (release store after the owner filled the data); freeing clears
 *       the keys before the owners, so a reader either sees the key and valid data, or fails.
 *   <li>A read validates owner and key of every chunk it touches, copies, and validates again: a region
 *       freed and reused during the copy is reported as gone, never delivered as data.
 * </ul>
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
  static final long MAGIC = ByteBuffer.wrap("VRDMASHM".getBytes(StandardCharsets.US_ASCII))
      .order(ByteOrder.LITTLE_ENDIAN).getLong();
  static final long LAYOUT_VERSION = 1;
  static final int HEADER_BYTES = 4096;
  static final int SLOT_BYTES = 64;
  static final int CHUNK_ENTRY_BYTES = 16;

  static final int H_MAGIC = 0;
  static final int H_STATE = 8;
  static final int H_VERSION = 16;
  static final int H_SIZE = 24;
  static final int H_CHUNK_BYTES = 32;
  static final int H_CHUNK_COUNT = 40;
  static final int H_SLOTS = 48;
  static final int H_ID_MSB = 56;
  static final int H_ID_LSB = 64;
  static final int H_PROCESS_TABLE = 72;
  static final int H_CHUNK_TABLE = 80;
  static final int H_DATA = 88;

  static final int S_TOKEN = 0;
  static final int S_HEARTBEAT = 8;
  static final int S_PID = 16;
  static final int S_ATTACHED = 24;

  static final int C_OWNER = 0;
  static final int C_KEY = 8;

  static final long STATE_NONE = 0;
  static final long STATE_INITIALISING = 1;
  static final long STATE_READY = 2;

  /** How long a process waits for another one to finish initialising or sizing a new arena. */
  static final long DEFAULT_INIT_WAIT_MILLIS = 5_000;

  static final int MIN_CHUNK_BYTES = 4096;
  static final int MAX_CHUNK_BYTES = 1 << 30;

  /** Smallest page the kernel backs a mapping with; touching one byte per page backs the whole mapping. */
  private static final int PAGE_BYTES = 4096;

  /** Atomic access to the mapping; indexes are byte offsets and must be multiples of 8. */
  private static final VarHandle LONG =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private final Path path;
  private final MappedByteBuffer memory;
  private final boolean created;
  private final UUID arenaId;
  private final long token;
  private final long sizeBytes;
  private final int chunkBytes;
  private final int chunkCount;
  private final int slotCount;
  private final int processTable;
  private final int chunkTable;
  private final int dataOffset;
  private final long dataBytes;
  private final int slot;
  private final long livenessMillis;
  private final SecureRandom random;
  private final AtomicInteger searchHint = new AtomicInteger();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile boolean evicted;
  private final ScheduledThreadPoolExecutor heartbeat;
  private volatile Thread heartbeatThread;
  /** Where {@link #preallocate()} leaves what it read, so that the compiler keeps the reads. */
  @SuppressWarnings("unused")
  private volatile long touchSink;

  private SharedArena(Path path, MappedByteBuffer memory, boolean created, long token, SecureRandom random,
      long heartbeatMillis, long livenessMillis) throws TransportException {
    this.path = path;
    this.memory = memory;
    this.created = created;
    this.token = token;
    this.random = random;
    this.livenessMillis = livenessMillis;
    this.arenaId = new UUID(get(H_ID_MSB), get(H_ID_LSB));
    this.sizeBytes = get(H_SIZE);
    this.chunkBytes = (int) get(H_CHUNK_BYTES);
    this.chunkCount = (int) get(H_CHUNK_COUNT);
    this.slotCount = (int) get(H_SLOTS);
    this.processTable = (int) get(H_PROCESS_TABLE);
    this.chunkTable = (int) get(H_CHUNK_TABLE);
    this.dataOffset = (int) get(H_DATA);
    this.dataBytes = (long) chunkCount * chunkBytes;

    // Reclaim first: a dead process may hold the only free slot, or the space this process will need.
    reclaimDeadProcesses();
    int claimed = claimSlot();
    if (claimed < 0) {
      reclaimDeadProcesses();
      claimed = claimSlot();
    }
    if (claimed < 0) {
      throw new ResourceFullException("shm arena " + path + " has no free process slot (" + slotsInUse()
          + " in use of " + slotCount + "); close idle processes, wait for dead ones to time out, or"
          + " recreate the arena with more slots");
    }
    this.slot = claimed;
    this.heartbeat = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "vrdma-shm-heartbeat");
      t.setDaemon(true);
      heartbeatThread = t;
      return t;
    });
    heartbeat.scheduleWithFixedDelay(this::beat, heartbeatMillis, heartbeatMillis, TimeUnit.MILLISECONDS);
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
   * @throws TransportException when the file cannot be created or mapped, is too large for one mapping,
   *     is not an arena of this layout version, or stays uninitialised
   */
  public static SharedArena attach(Path path, long createBytes, int chunkBytes, int maxProcesses,
      long heartbeatMillis, long livenessMillis) throws TransportException {
    return attach(path, createBytes, chunkBytes, maxProcesses, heartbeatMillis, livenessMillis,
        DEFAULT_INIT_WAIT_MILLIS);
  }

  /** Attaches to (or creates) the arena a node's configuration names, with its sizes and timings. */
  public static SharedArena attach(TransportConf conf) throws TransportException {
    return attach(Path.of(conf.get(TransportConf.SHM_ARENA_PATH)), conf.get(TransportConf.SHM_ARENA_BYTES),
        conf.getInt(TransportConf.SHM_CHUNK_BYTES), conf.getInt(TransportConf.SHM_MAX_PROCESSES),
        conf.get(TransportConf.SHM_HEARTBEAT), conf.get(TransportConf.SHM_LIVENESS_TIMEOUT));
  }

  /** As {@link #attach(Path, long, int, int, long, long)}, with the initialisation wait chosen by tests. */
  static SharedArena attach(Path path, long createBytes, int chunkBytes, int maxProcesses,
      long heartbeatMillis, long livenessMillis, long initWaitMillis) throws TransportException {
    if (chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES || Integer.bitCount(chunkBytes) != 1) {
      throw new IllegalArgumentException("shm chunk size " + chunkBytes + " must be a power of two between "
          + MIN_CHUNK_BYTES + " and " + MAX_CHUNK_BYTES);
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
    Mapping mapping = map(path, createBytes, chunkBytes, maxProcesses, deadline);
    MappedByteBuffer memory = mapping.memory();
    initialise(path, memory, chunkBytes, maxProcesses, deadline);

    SecureRandom random = new SecureRandom();
    SharedArena arena = new SharedArena(path, memory, mapping.created(), nonZero(random), random, heartbeatMillis,
        livenessMillis);
    if (arena.chunkBytes != chunkBytes || arena.slotCount != maxProcesses) {
      LOG.info("shm arena {} keeps its own chunk size {} and {} process slots (asked: {} and {})", path,
          arena.chunkBytes, arena.slotCount, chunkBytes, maxProcesses);
    }
    LOG.info("attached to shm arena {} ({}): {} bytes, {} chunks of {} bytes, process slot {} of {}", path,
        arena.arenaId, arena.sizeBytes, arena.chunkCount, arena.chunkBytes, arena.slot, arena.slotCount);
    return arena;
  }

  /** The whole file mapped, and whether this process created it. */
  private record Mapping(MappedByteBuffer memory, boolean created) {}

  /** Opens (creating if absent) and maps the whole file. */
  private static Mapping map(Path path, long createBytes, int chunkBytes, int maxProcesses,
      long deadline) throws TransportException {
    boolean created = false;
    if (!Files.exists(path)) {
      if (createBytes > Integer.MAX_VALUE) {
        throw new TransportException("shm arena " + path + " cannot be created with " + createBytes
            + " bytes: one arena is mapped as a whole and holds at most " + Integer.MAX_VALUE + " bytes");
      }
      // Refuse a size that cannot hold one chunk before leaving a useless file behind.
      layout(path, createBytes, chunkBytes, maxProcesses);
      // The file is sparse: a tmpfs smaller than the arena (a container's private /dev/shm is 64 MiB) would only
      // fail once it is full, deep inside a registration, after starving every other user of that tmpfs.
      long free = usableBytes(path);
      if (free >= 0 && free < createBytes) {
        throw new TransportException("cannot create shm arena " + path + " of " + createBytes + " bytes: its file"
            + " system has only " + free + " bytes free (give it a larger tmpfs, or ask for a smaller arena)");
      }
      try {
        Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        created = true;
      } catch (FileAlreadyExistsException e) {
        // Another process created it first; use theirs.
      } catch (IOException | UnsupportedOperationException e) {
        throw new TransportException("cannot create shm arena " + path + ": " + e, e);
      }
    }
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      if (created) {
        // Writing the last byte sizes the file without truncating anything (it is new and empty).
        channel.write(ByteBuffer.allocate(1), createBytes - 1);
      }
      long size = channel.size();
      // A file just created by another process may not have its size yet.
      while (size < HEADER_BYTES && System.nanoTime() < deadline) {
        sleepBriefly(path);
        size = channel.size();
      }
      if (size > Integer.MAX_VALUE) {
        throw new TransportException("shm arena " + path + " is " + size + " bytes; one arena is mapped as a"
            + " whole and holds at most " + Integer.MAX_VALUE + " bytes");
      }
      if (size < HEADER_BYTES) {
        throw new TransportException("shm arena " + path + " is only " + size + " bytes; it needs at least a "
            + HEADER_BYTES + "-byte header and one chunk");
      }
      // The mapping outlives the channel; it goes when the last buffer referencing it is collected.
      return new Mapping(channel.map(FileChannel.MapMode.READ_WRITE, 0, size), created);
    } catch (IOException e) {
      throw new TransportException("cannot map shm arena " + path + ": " + e, e);
    }
  }

  /** Bytes free to this process on the file system that is to hold {@code path}; -1 when that cannot be told. */
  private static long usableBytes(Path path) {
    Path dir = path.toAbsolutePath().getParent();
    try {
      return dir == null ? -1 : Files.getFileStore(dir).getUsableSpace();
    } catch (IOException | SecurityException e) {
      return -1; // creating the file reports what is wrong with the directory
    }
  }

  /** Makes sure the header is initialised (by this process or another) and of this layout version. */
  private static void initialise(Path path, MappedByteBuffer memory, int chunkBytes, int maxProcesses,
      long deadline) throws TransportException {
    checkMagicAndVersion(path, memory);
    if (getLong(memory, H_STATE) == STATE_NONE) {
      Layout layout = layout(path, memory.capacity(), chunkBytes, maxProcesses);
      if (LONG.compareAndSet(memory, H_STATE, STATE_NONE, STATE_INITIALISING)) {
        UUID id = UUID.randomUUID();
        put(memory, H_VERSION, LAYOUT_VERSION);
        put(memory, H_SIZE, memory.capacity());
        put(memory, H_CHUNK_BYTES, chunkBytes);
        put(memory, H_CHUNK_COUNT, layout.chunkCount);
        put(memory, H_SLOTS, maxProcesses);
        put(memory, H_ID_MSB, id.getMostSignificantBits());
        put(memory, H_ID_LSB, id.getLeastSignificantBits());
        put(memory, H_PROCESS_TABLE, layout.processTable);
        put(memory, H_CHUNK_TABLE, layout.chunkTable);
        put(memory, H_DATA, layout.dataOffset);
        // Magic after the fields and state last: a process that sees either sees the whole header.
        put(memory, H_MAGIC, MAGIC);
        put(memory, H_STATE, STATE_READY);
        LOG.info("initialised shm arena {} ({}): {} chunks of {} bytes, {} process slots", path, id,
            layout.chunkCount, chunkBytes, maxProcesses);
      }
    }
    long state = getLong(memory, H_STATE);
    while (state != STATE_READY) {
      if (state != STATE_NONE && state != STATE_INITIALISING) {
        throw new TransportException("shm arena " + path + " has init state " + state
            + ", not 0, 1 or 2: it is not a vRDMA arena or it is corrupt");
      }
      if (System.nanoTime() >= deadline) {
        throw new TransportException("arena " + path + " stuck initialising: a process died while laying it"
            + " out; delete or zero the file when no process uses it");
      }
      sleepBriefly(path);
      state = getLong(memory, H_STATE);
    }
    checkMagicAndVersion(path, memory);
    if (getLong(memory, H_MAGIC) != MAGIC) {
      throw new TransportException("shm arena " + path + " is marked ready but has no magic: it is corrupt");
    }
    validateHeader(path, memory);
  }

  private static void checkMagicAndVersion(Path path, MappedByteBuffer memory) throws TransportException {
    long magic = getLong(memory, H_MAGIC);
    if (magic == 0) {
      return;
    }
    if (magic != MAGIC) {
      throw new TransportException("shm arena " + path + " is not a vRDMA arena: magic 0x"
          + Long.toHexString(magic) + ", expected 0x" + Long.toHexString(MAGIC) + " (\"VRDMASHM\")");
    }
    long version = getLong(memory, H_VERSION);
    if (version != LAYOUT_VERSION) {
      throw new TransportException("shm arena " + path + " has layout version " + version + ", expected "
          + LAYOUT_VERSION + ": processes of different transport versions cannot share one arena");
    }
  }

  /** Refuses a header whose fields do not describe a layout that fits the mapping. */
  private static void validateHeader(Path path, MappedByteBuffer memory) throws TransportException {
    long size = getLong(memory, H_SIZE);
    long chunk = getLong(memory, H_CHUNK_BYTES);
    long count = getLong(memory, H_CHUNK_COUNT);
    long slots = getLong(memory, H_SLOTS);
    long processTable = getLong(memory, H_PROCESS_TABLE);
    long chunkTable = getLong(memory, H_CHUNK_TABLE);
    long data = getLong(memory, H_DATA);
    boolean ok = size == memory.capacity()
        && chunk >= 8 && chunk <= MAX_CHUNK_BYTES && Long.bitCount(chunk) == 1
        && slots >= 1 && count >= 1
        && processTable == HEADER_BYTES
        && chunkTable == processTable + slots * SLOT_BYTES
        && data >= chunkTable + count * CHUNK_ENTRY_BYTES && data % chunk == 0
        && data + count * chunk <= size;
    if (!ok) {
      throw new TransportException("shm arena " + path + " has an inconsistent header (size " + size + " of "
          + memory.capacity() + " mapped, chunk " + chunk + " x " + count + ", " + slots + " slots, tables at "
          + processTable + "/" + chunkTable + ", data at " + data + "): it is corrupt");
    }
  }

  /** Where the tables and data go in a file of {@code size} bytes. */
  private static Layout layout(Path path, long size, int chunkBytes, int slots) throws TransportException {
    long processTable = HEADER_BYTES;
    long chunkTable = processTable + (long) slots * SLOT_BYTES;
    long count = Math.max(0, (size - chunkTable) / (chunkBytes + CHUNK_ENTRY_BYTES));
    // The data area's alignment wastes up to one chunk; give chunks back until everything fits.
    while (count > 0 && alignUp(chunkTable + count * CHUNK_ENTRY_BYTES, chunkBytes) + count * chunkBytes > size) {
      count--;
    }
    if (count < 1) {
      throw new TransportException("shm arena " + path + " of " + size + " bytes is too small for its header, "
          + slots + " process slots and one chunk of " + chunkBytes + " bytes");
    }
    return new Layout((int) count, (int) processTable, (int) chunkTable,
        (int) alignUp(chunkTable + count * CHUNK_ENTRY_BYTES, chunkBytes));
  }

  private record Layout(int chunkCount, int processTable, int chunkTable, int dataOffset) {}

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
    return sizeBytes;
  }

  /** The allocation unit: every region occupies a whole number of chunks. */
  public int chunkBytes() {
    return chunkBytes;
  }

  /** Chunks in the data area. */
  public int chunkCount() {
    return chunkCount;
  }

  /** Chunks no process owns right now; a snapshot that other processes may change at once. */
  public int freeChunks() {
    int free = 0;
    for (int c = 0; c < chunkCount; c++) {
      if (get(ownerWord(c)) == 0) {
        free++;
      }
    }
    return free;
  }

  /** Process slots holding a token right now (live or not yet reclaimed). */
  int slotsInUse() {
    int used = 0;
    for (int s = 0; s < slotCount; s++) {
      if (get(slotWord(s, S_TOKEN)) != 0) {
        used++;
      }
    }
    return used;
  }

  /** The process slot of this attachment. */
  int slot() {
    return slot;
  }

  /**
   * Claims a contiguous run of chunks for a region of {@code length} bytes, owned by this attachment and
   * not readable until {@link ArenaRegion#publish()}.
   *
   * @param length bytes of the region, at least 1
   * @return the region; close it to free its chunks
   * @throws ResourceFullException when no run of free chunks is long enough, even after reclaiming the
   *     space of dead processes; the caller may use another tier
   * @throws TransportException when this attachment was evicted for missing its heartbeats
   */
  public ArenaRegion allocate(long length) throws TransportException {
    if (length < 1) {
      throw new IllegalArgumentException("shm region of " + length + " bytes asked for; regions hold at least 1");
    }
    checkUsable();
    long needed = length / chunkBytes + (length % chunkBytes == 0 ? 0 : 1);
    if (needed > chunkCount) {
      throw new ResourceFullException("shm arena " + path + " cannot hold " + length + " bytes: its data area"
          + " is " + dataBytes + " bytes; use another tier for regions this large");
    }
    int count = (int) needed;
    int first = claimRun(count);
    if (first < 0) {
      // Retried even when nothing was reclaimed: the orphan sweep or other processes may have freed space.
      reclaimDeadProcesses();
      first = claimRun(count);
    }
    if (first < 0) {
      throw full(length);
    }
    if (get(slotWord(slot, S_TOKEN)) != token || closed.get()) {
      // Reclaimed (or closed) while claiming: these chunks would be orphans, give them back.
      for (int c = first; c < first + count; c++) {
        freeChunk(c, token);
      }
      checkUsable();
      markEvicted("its process slot was reclaimed");
      throw evictedException();
    }
    for (int c = first; c < first + count; c++) {
      // Normally 0 already; cleared in case a stalled process left a stray key behind.
      LONG.setRelease(memory, keyWord(c), 0L);
    }
    return new ArenaRegion(this, first, count, length, nonZero(random));
  }

  /**
   * Claims {@code count} free chunks in a row, first-fit from a rotating hint so that concurrent
   * allocators start in different places.
   *
   * @return the first chunk, or -1 when no run is free
   */
  private int claimRun(int count) {
    int start = Math.floorMod(searchHint.get(), chunkCount);
    int scanned = 0;
    while (scanned < chunkCount) {
      int i = (start + scanned) % chunkCount;
      if (i + count > chunkCount) {
        scanned += chunkCount - i; // a run cannot wrap past the end: continue at chunk 0
        continue;
      }
      int busy = -1;
      for (int c = i; c < i + count; c++) {
        if (get(ownerWord(c)) != 0) {
          busy = c;
          break;
        }
      }
      if (busy >= 0) {
        scanned += busy - i + 1; // no run starting at or before the busy chunk can include it
        continue;
      }
      int claimed = 0;
      while (claimed < count && LONG.compareAndSet(memory, ownerWord(i + claimed), 0L, token)) {
        claimed++;
      }
      if (claimed == count) {
        searchHint.set((i + count) % chunkCount);
        return i;
      }
      // Lost a chunk to a concurrent allocator: give back what was taken and search past the lost one.
      for (int c = i + claimed - 1; c >= i; c--) {
        LONG.setRelease(memory, ownerWord(c), 0L);
      }
      scanned += claimed + 1;
    }
    return -1;
  }

  private ResourceFullException full(long length) {
    int free = 0;
    int runs = 0;
    int largest = 0;
    int run = 0;
    for (int c = 0; c < chunkCount; c++) {
      if (get(ownerWord(c)) == 0) {
        free++;
        run++;
        if (run == 1) {
          runs++;
        }
        largest = Math.max(largest, run);
      } else {
        run = 0;
      }
    }
    return new ResourceFullException("shm arena " + path + " full: " + length + " bytes asked, "
        + (long) free * chunkBytes + " bytes free in " + runs + " runs (largest " + (long) largest * chunkBytes
        + " bytes) of " + dataBytes + "; free regions or use another tier");
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
    int src = validate(owner, address, key, regionLength, offset, length);
    if (dstOffset < 0 || length > dst.limit() - dstOffset) {
      throw new IllegalArgumentException("shm read of " + length + " bytes does not fit at index " + dstOffset
          + " of a buffer with limit " + dst.limit());
    }
    if (length == 0) {
      return;
    }
    dst.put(dstOffset, memory, src, length);
    // The data loads above must not drift below the loads of the second check.
    VarHandle.acquireFence();
    checkChunks(owner, address, key, src, length);
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
    int src = validate(owner, address, key, regionLength, offset, length);
    return memory.slice(src, length).asReadOnlyBuffer();
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
    int src = validate(owner, address, key, regionLength, offset, length);
    ByteBuffer window = memory.slice(src, length).asReadOnlyBuffer();
    return new RegionView() {
      @Override
      public int length() {
        return length;
      }

      @Override
      public ByteBuffer buffer() {
        return window.duplicate();
      }

      @Override
      public void checkValid() throws TransportException {
        // the reader's loads of the bytes must not drift below the loads of this check
        VarHandle.acquireFence();
        if (closed.get()) {
          throw new TransportException("shm arena " + path + " is closed");
        }
        if (length > 0) {
          checkChunks(owner, address, key, src, length);
        }
      }
    };
  }

  /** Checks a read against the descriptor and the chunk table; returns the arena index of its first byte. */
  private int validate(long owner, long address, long key, long regionLength, long offset, int length)
      throws TransportException {
    if (closed.get()) {
      throw new TransportException("shm arena " + path + " is closed");
    }
    if (regionLength < 0 || offset < 0 || length < 0 || offset > regionLength - length) {
      throw new InvalidDescriptorException("shm read of " + length + " bytes at offset " + offset
          + " is outside its region of " + regionLength + " bytes");
    }
    if (owner == 0 || key == 0) {
      throw new InvalidDescriptorException("shm descriptor with owner " + Long.toHexString(owner) + " and key "
          + Long.toHexString(key) + ": neither may be 0");
    }
    long relative = address - dataOffset;
    if (relative < 0 || relative >= dataBytes || relative % chunkBytes != 0
        || regionLength > dataBytes - relative) {
      throw new InvalidDescriptorException("descriptor points outside the arena: region at " + address + " of "
          + regionLength + " bytes, but regions start at chunk boundaries in [" + dataOffset + ", "
          + (dataOffset + dataBytes) + ") with chunks of " + chunkBytes + " bytes in " + path);
    }
    int src = (int) (address + offset);
    if (length > 0) {
      checkChunks(owner, address, key, src, length);
    }
    return src;
  }

  /** Every chunk under [src, src + length) must belong to owner and carry key. */
  private void checkChunks(long owner, long address, long key, int src, int length) throws TransportException {
    int first = (src - dataOffset) / chunkBytes;
    int last = (src + length - 1 - dataOffset) / chunkBytes;
    for (int c = first; c <= last; c++) {
      long chunkOwner = get(ownerWord(c));
      long chunkKey = get(keyWord(c));
      if (chunkOwner == 0) {
        throw notFound(owner, address, key);
      }
      if (chunkOwner != owner) {
        throw new InvalidDescriptorException("shm descriptor of owner " + Long.toHexString(owner) + " at "
            + address + " reads chunk " + c + " of owner " + Long.toHexString(chunkOwner)
            + ": outside its owner's space");
      }
      if (chunkKey != key) {
        throw notFound(owner, address, key);
      }
    }
  }

  private RegionNotFoundException notFound(long owner, long address, long key) {
    return new RegionNotFoundException("shm region " + Long.toHexString(key) + " of owner "
        + Long.toHexString(owner) + " at " + address + " in " + path + ": region freed or never published");
  }

  /**
   * Frees the chunks and process slots of processes whose heartbeat is older than the liveness timeout,
   * and chunks left by processes that no longer hold a slot. Safe to run in several processes at once.
   *
   * @return how many dead processes' slots (and their space) this call reclaimed
   */
  public int reclaimDeadProcesses() {
    int reclaimed = 0;
    long now = System.currentTimeMillis();
    for (int s = 0; s < slotCount; s++) {
      long dead = get(slotWord(s, S_TOKEN));
      long beat = get(slotWord(s, S_HEARTBEAT));
      if (dead == 0 || dead == token || now - beat <= livenessMillis) {
        continue;
      }
      // Taking the heartbeat word is the reclaimer's lock: a second reclaimer of the same observation, or
      // the process itself waking up, makes this fail.
      if (!LONG.compareAndSet(memory, slotWord(s, S_HEARTBEAT), beat, now)) {
        continue;
      }
      int freed = freeChunksOf(dead);
      if (LONG.compareAndSet(memory, slotWord(s, S_TOKEN), dead, 0L)) {
        reclaimed++;
        LOG.info("shm arena {}: reclaimed dead process {} (pid {}, heartbeat {} ms old): {} chunks freed", path,
            Long.toHexString(dead), get(slotWord(s, S_PID)), now - beat, freed);
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
    Set<Long> owners = new HashSet<>();
    for (int c = 0; c < chunkCount; c++) {
      long owner = get(ownerWord(c));
      if (owner != 0) {
        owners.add(owner);
      }
    }
    if (owners.isEmpty()) {
      return;
    }
    for (int s = 0; s < slotCount; s++) {
      owners.remove(get(slotWord(s, S_TOKEN)));
    }
    for (long orphan : owners) {
      int freed = freeChunksOf(orphan);
      if (freed > 0) {
        LOG.info("shm arena {}: freed {} chunks of {}, which holds no process slot", path, freed,
            Long.toHexString(orphan));
      }
    }
  }

  private int freeChunksOf(long owner) {
    int freed = 0;
    for (int c = 0; c < chunkCount; c++) {
      if (freeChunk(c, owner)) {
        freed++;
      }
    }
    return freed;
  }

  /** Frees a chunk if {@code owner} owns it: key first so readers fail, then the owner word. */
  private boolean freeChunk(int c, long owner) {
    if (get(ownerWord(c)) != owner) {
      return false;
    }
    long key = get(keyWord(c));
    if (get(ownerWord(c)) != owner) {
      return false;
    }
    if (key != 0) {
      // Only this key: had the chunk changed hands meanwhile, its new key is not ours to clear.
      LONG.compareAndSet(memory, keyWord(c), key, 0L);
    }
    return LONG.compareAndSet(memory, ownerWord(c), owner, 0L);
  }

  /** Claims a free process slot; returns it, or -1 when all are taken. */
  private int claimSlot() {
    long now = System.currentTimeMillis();
    for (int s = 0; s < slotCount; s++) {
      if (get(slotWord(s, S_TOKEN)) != 0) {
        continue;
      }
      // Fresh heartbeat before the token: a reclaimer that sees the token must not see a stale heartbeat
      // left by the slot's previous holder. Writing into a slot another process wins only refreshes it.
      LONG.setRelease(memory, slotWord(s, S_HEARTBEAT), now);
      if (LONG.compareAndSet(memory, slotWord(s, S_TOKEN), 0L, token)) {
        LONG.setRelease(memory, slotWord(s, S_PID), ProcessHandle.current().pid());
        LONG.setRelease(memory, slotWord(s, S_ATTACHED), now);
        LONG.setRelease(memory, slotWord(s, S_HEARTBEAT), System.currentTimeMillis());
        return s;
      }
    }
    return -1;
  }

  private void beat() {
    try {
      if (get(slotWord(slot, S_TOKEN)) != token) {
        markEvicted("another process found its heartbeat older than the liveness timeout");
        heartbeat.shutdown();
        return;
      }
      LONG.setRelease(memory, slotWord(slot, S_HEARTBEAT), System.currentTimeMillis());
    } catch (RuntimeException e) {
      // An exception would silently cancel the schedule, and the process would soon look dead.
      LOG.warn("shm arena {}: heartbeat failed", path, e);
    }
  }

  private void markEvicted(String why) {
    if (!evicted && !closed.get()) {
      evicted = true;
      LOG.warn("shm arena {}: this process (token {}) was evicted: {}; it allocates and publishes no more"
          + " regions there", path, Long.toHexString(token), why);
    }
  }

  private TransportException evictedException() {
    return new TransportException("shm arena " + path + ": this process was evicted (its heartbeat went stale"
        + " and its space was reclaimed); reattach or use another tier");
  }

  /** Throws unless this attachment may still allocate and publish. */
  void checkUsable() throws TransportException {
    if (closed.get()) {
      throw new TransportException("shm arena " + path + " is closed");
    }
    if (evicted) {
      throw evictedException();
    }
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
    int freed = freeChunksOf(token);
    boolean released = LONG.compareAndSet(memory, slotWord(slot, S_TOKEN), token, 0L);
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
    long t0 = System.nanoTime();
    long end = dataOffset + dataBytes;
    long touched = 0;
    long sum = 0;
    try {
      for (long at = dataOffset; at < end && !closed.get(); at += PAGE_BYTES) {
        sum += memory.get((int) at);
        touched = at + PAGE_BYTES - dataOffset;
      }
    } catch (InternalError e) {
      // the JVM's report of SIGBUS: the file system ran out of pages for the arena
      LOG.warn("shm arena {}: only {} MiB of {} MiB could be backed by memory, its file system is full ({});"
          + " registrations beyond that fail and go to the other tiers", path, touched >> 20, dataBytes >> 20,
          e.getMessage());
      return touched;
    }
    touchSink = sum;
    touched = Math.min(touched, dataBytes);
    LOG.info("shm arena {}: {} MiB backed by memory in {} ms", path, touched >> 20,
        (System.nanoTime() - t0) / 1_000_000);
    return touched;
  }

  // -- for ArenaRegion

  ByteBuffer slice(int firstChunk, long length) {
    return memory.slice(chunkAddress(firstChunk), (int) length);
  }

  int chunkAddress(int chunk) {
    return dataOffset + chunk * chunkBytes;
  }

  /** Writes the region key into its chunks; fails when any chunk is no longer this attachment's. */
  void publish(int firstChunk, int count, long key) throws TransportException {
    checkUsable();
    for (int c = firstChunk; c < firstChunk + count; c++) {
      if (get(ownerWord(c)) != token) {
        markEvicted("a chunk of its region was reclaimed");
        throw evictedException();
      }
    }
    for (int c = firstChunk; c < firstChunk + count; c++) {
      // Release: the owner's data writes become visible no later than the key.
      if (!LONG.compareAndSet(memory, keyWord(c), 0L, key) && get(keyWord(c)) != key) {
        throw new TransportException("shm arena " + path + ": chunk " + c + " of region "
            + Long.toHexString(key) + " carries another key; the region was reclaimed");
      }
    }
  }

  /** Frees a region's chunks: every key first, so readers fail before any chunk can be reused. */
  void free(int firstChunk, int count, long key) {
    for (int c = firstChunk; c < firstChunk + count; c++) {
      LONG.compareAndSet(memory, keyWord(c), key, 0L);
    }
    for (int c = firstChunk; c < firstChunk + count; c++) {
      LONG.compareAndSet(memory, ownerWord(c), token, 0L);
    }
  }

  // -- words of the mapping

  private int ownerWord(int chunk) {
    return chunkTable + chunk * CHUNK_ENTRY_BYTES + C_OWNER;
  }

  private int keyWord(int chunk) {
    return chunkTable + chunk * CHUNK_ENTRY_BYTES + C_KEY;
  }

  private int slotWord(int slotIndex, int field) {
    return processTable + slotIndex * SLOT_BYTES + field;
  }

  private long get(int index) {
    return getLong(memory, index);
  }

  private static long getLong(ByteBuffer memory, int index) {
    return (long) LONG.getAcquire(memory, index);
  }

  private static void put(ByteBuffer memory, int index, long value) {
    LONG.setRelease(memory, index, value);
  }

  private static long alignUp(long value, long alignment) {
    return (value + alignment - 1) / alignment * alignment;
  }

  private static long nonZero(SecureRandom random) {
    long value;
    do {
      value = random.nextLong();
    } while (value == 0);
    return value;
  }

  private static void sleepBriefly(Path path) throws TransportException {
    try {
      Thread.sleep(1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TransportException("interrupted while waiting for shm arena " + path);
    }
  }

  /** For logs: path, arena id, token and slot. */
  @Override
  public String toString() {
    return "SharedArena[" + path + ", " + arenaId + ", token " + Long.toHexString(token) + ", slot " + slot + "]";
  }
}
