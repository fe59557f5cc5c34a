package io.vrdma.transport.config;

import io.vrdma.transport.Tier;
import io.vrdma.transport.shm.SharedArena;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The transport's whole configuration: every key is a documented constant below with its default, and an
 * instance holds validated, typed values read from a plain map. Spark and Hadoop adapt their own
 * configuration into such a map (stripping their prefixes), so this class knows neither.
 *
 * <p>Unknown keys under {@link #PREFIX} are rejected, so that a misspelt key fails loudly instead of
 * silently leaving a default in place.
 */
public final class TransportConf {
  /** Every key of the transport starts with this prefix. */
  public static final String PREFIX = "vrdma.transport.";

  public static final ConfigKey<String> TIERS = ConfigKey.string(PREFIX + "tiers", "shm,verbs,rsocket,tcp",
      "Tiers this node may use, in order of preference. For each peer the first tier that both sides"
          + " advertise is chosen. A single tier forces it: connecting to a peer that lacks it fails. rsocket is"
          + " advertised only by a JVM started under librdmacm's preload (docs/deployment-vm.md).");
  public static final ConfigKey<String> HOST = ConfigKey.string(PREFIX + "host", "",
      "Address this node listens on and advertises to peers. Empty: the address of the local host name; in"
          + " Spark, the address of the executor's block manager (where Spark's own transfer listens).");
  public static final ConfigKey<Long> PORT = ConfigKey.size(PREFIX + "port", "0",
      "TCP port of the node's control (and tcp-tier) server. 0 picks a free port.");
  public static final ConfigKey<Long> CONNECT_TIMEOUT = ConfigKey.millis(PREFIX + "connectTimeout", "10s",
      "How long connecting to a peer (socket and handshake) may take before it fails.");
  public static final ConfigKey<Long> READ_TIMEOUT = ConfigKey.millis(PREFIX + "readTimeout", "30s",
      "How long one read or control request may stay in flight before it fails with a timeout.");
  public static final ConfigKey<Long> POOL_MAX_BUFFER = ConfigKey.size(PREFIX + "pool.maxBufferBytes", "16m",
      "Largest registered receive buffer the pool hands out. Larger regions are read in pieces.");
  public static final ConfigKey<Long> POOL_MAX_BYTES = ConfigKey.size(PREFIX + "pool.maxBytes", "256m",
      "Upper bound on the bytes of registered receive buffers one node allocates (in use plus cached).");
  public static final ConfigKey<Boolean> POOL_LEAK_DETECTION = ConfigKey.bool(PREFIX + "pool.leakDetection", false,
      "Record where each pooled buffer was acquired, so that a leak report names the code that leaked it.");
  public static final ConfigKey<Boolean> TCP_NATIVE_EPOLL = ConfigKey.bool(PREFIX + "tcp.nativeEpoll", true,
      "Use Netty's native epoll transport when it loads; NIO otherwise.");
  public static final ConfigKey<Boolean> TCP_COPY_FILES = ConfigKey.bool(PREFIX + "tcp.copyFileRegions", false,
      "Serve file segments on the socket tiers by copying them through a buffer instead of sendfile. Forced on"
          + " in a JVM under librdmacm's preload (the rsocket tier), whose rsockets sendfile would bypass.");
  public static final ConfigKey<Boolean> RSOCKET_RPOLL_FIXED = ConfigKey.bool(PREFIX + "rsocket.rpollFixed", false,
      "Trust this host's librdmacm to have rpoll's time-out fix (rdma-core 44.12, 63.0 and the other releases in"
          + " docs/deployment-vm.md) whatever version its file name gives: for a distribution that backported it."
          + " Without the fix the rsocket tier stays off.");
  public static final ConfigKey<Long> TCP_IO_THREADS = ConfigKey.size(PREFIX + "tcp.ioThreads", "2",
      "Netty event-loop threads of the node (shared by its server and client connections).");
  public static final ConfigKey<Long> TCP_MAX_FRAME = ConfigKey.size(PREFIX + "tcp.maxFrameBytes", "16m",
      "Largest control or request frame accepted. A larger or malformed frame closes that connection.");
  public static final ConfigKey<String> SHM_ARENA_PATH = ConfigKey.string(PREFIX + "shm.arenaPath",
      "/dev/shm/vrdma-arena",
      "Shared-memory arena file mapped by every process of the host group: a file under /dev/shm, or an"
          + " IVSHMEM BAR such as /sys/bus/pci/devices/0000:00:05.0/resource2 inside a VM.");
  public static final ConfigKey<Long> SHM_ARENA_BYTES = ConfigKey.size(PREFIX + "shm.arenaBytes", "1g",
      "Size of the arena when this node creates it (an existing arena keeps its size). Arenas above 2 GiB - 1"
          + " are mapped in windows of 1 GiB, the largest region they hold; the chunk table bounds the size (about"
          + " 8 TiB with 64 KiB chunks).");
  public static final ConfigKey<Long> SHM_CHUNK_BYTES = ConfigKey.size(PREFIX + "shm.chunkBytes", "64k",
      "Allocation unit of the arena. A registration occupies a whole number of chunks.");
  public static final ConfigKey<Long> SHM_MAX_PROCESSES = ConfigKey.size(PREFIX + "shm.maxProcesses", "256",
      "Process slots in the arena header: how many processes may attach to one arena at once.");
  public static final ConfigKey<Boolean> SHM_PREALLOCATE = ConfigKey.bool(PREFIX + "shm.preallocate", true,
      "When this node creates the arena file, back every page of it with memory at once (a background thread"
          + " reads one byte per page), so that shuffles do not pay the first touch of tmpfs pages (allocating and"
          + " zeroing them costs about twice the copy of the shuffle bytes). Commits the whole arena's memory up"
          + " front; the pages stay backed while the file exists.");
  public static final ConfigKey<Long> SHM_HEARTBEAT = ConfigKey.millis(PREFIX + "shm.heartbeatInterval", "1s",
      "How often an attached process refreshes its heartbeat in the arena.");
  public static final ConfigKey<Long> SHM_LIVENESS_TIMEOUT = ConfigKey.millis(PREFIX + "shm.livenessTimeout", "10s",
      "A process whose heartbeat is older than this is taken as dead and its arena space reclaimed.");

  public static final ConfigKey<String> VERBS_ADDRESS = ConfigKey.string(PREFIX + "verbs.address", "",
      "IP address the verbs tier listens on with rdma_cm: that of a network interface with an RDMA device."
          + " Empty: the IPv4 address of the first RDMA device's interface (from /sys/class/infiniband).");
  public static final ConfigKey<Long> VERBS_PORT = ConfigKey.size(PREFIX + "verbs.port", "0",
      "rdma_cm port of the verbs tier. 0 picks a free port.");
  public static final ConfigKey<String> VERBS_COMPLETION = ConfigKey.string(PREFIX + "verbs.completion", "channel",
      "How completions are reaped: 'channel' (a thread blocks on the completion channel until the device"
          + " signals) or 'poll' (a dedicated thread busy-polls the completion queue: lowest latency, one core).");
  public static final ConfigKey<Long> VERBS_QUEUE_DEPTH = ConfigKey.size(PREFIX + "verbs.queueDepth", "64",
      "Work requests per queue pair (send queue depth); capped by the device's max_qp_wr.");
  public static final ConfigKey<Long> VERBS_READS_IN_FLIGHT = ConfigKey.size(PREFIX + "verbs.maxReadsInFlight", "32",
      "RDMA READs one queue pair keeps in flight; further reads wait their turn. Capped by queueDepth and the"
          + " device's max_qp_init_rd_atom.");
  public static final ConfigKey<Long> VERBS_CQ_SIZE = ConfigKey.size(PREFIX + "verbs.cqSize", "4096",
      "Entries of the node's completion queue, shared by all its queue pairs: bounds the reads in flight of all"
          + " connections together (a connection that finds no room falls back to the next tier).");
  public static final ConfigKey<Long> VERBS_MAX_REGISTERED = ConfigKey.size(PREFIX + "verbs.maxRegisteredBytes", "1g",
      "Upper bound on the bytes of regions this node registers for peers to read over verbs (pinned memory)."
          + " With pool.maxBytes it is what RLIMIT_MEMLOCK must allow.");
  public static final ConfigKey<Long> VERBS_PIECE_BYTES = ConfigKey.size(PREFIX + "verbs.maxPieceBytes", "1g",
      "Largest single memory registration: a longer region is registered in pieces of this size (DiSNI"
          + " registers at most 2 GiB - 1 at once).");

  public static final ConfigKey<Boolean> ENCRYPTION_REQUIRED = ConfigKey.bool(PREFIX + "encryption.required", false,
      "No shuffle byte crosses a network in plaintext: tcp connections are encrypted (AES-256-GCM keyed with"
          + " HKDF-SHA256 from the namespace's shared secret and both sides' nonces) or refused, verbs is off unless"
          + " verbs.allowUnencryptedRdma, shm stays on (no wire). Needs authentication (a namespace secret). The"
          + " Spark plugin sets it from spark.network.crypto.enabled, spark.authenticate.enableSaslEncryption and"
          + " (Spark 4) spark.ssl.rpc.enabled; the Hadoop plugin from mapreduce.shuffle.ssl.enabled; setting it"
          + " false never overrides the engine.");
  public static final ConfigKey<Boolean> VERBS_ALLOW_UNENCRYPTED = ConfigKey.bool(
      PREFIX + "verbs.allowUnencryptedRdma", false,
      "With encryption.required, keep the verbs tier on anyway: RDMA READs are not encrypted, so only for a"
          + " fabric trusted as much as the host's memory (one rack, a private RoCE VLAN). Ignored without"
          + " encryption.required.");

  public static final ConfigKey<String> FAULT_TIER = ConfigKey.string(PREFIX + "fault.tier", "",
      "Testing only: the tier whose reads the fault injector disturbs (empty: injection off). Lets the layers"
          + " above prove their fallback, retry and corruption handling against a real transport.");
  public static final ConfigKey<Long> FAULT_FAIL_EVERY = ConfigKey.size(PREFIX + "fault.failEvery", "0",
      "Testing only: fail every n-th read on the fault tier (0: never).");
  public static final ConfigKey<Long> FAULT_CORRUPT_EVERY = ConfigKey.size(PREFIX + "fault.corruptEvery", "0",
      "Testing only: flip one byte of every n-th successful read on the fault tier (0: never).");
  public static final ConfigKey<Long> FAULT_DELAY = ConfigKey.millis(PREFIX + "fault.delay", "0ms",
      "Testing only: delay every read on the fault tier by this long.");

  private static final List<ConfigKey<?>> ALL_KEYS = ConfigSection.keysDeclaredIn(TransportConf.class);

  private final Map<String, String> raw;
  private final List<Tier> tiers;

  private TransportConf(Map<String, String> raw) {
    this.raw = raw;
    this.tiers = parseTiers(get(TIERS));
    validate();
  }

  /** Reads a configuration from a plain map; keys outside {@link #PREFIX} are ignored. */
  public static TransportConf fromMap(Map<String, String> settings) {
    return new TransportConf(ConfigSection.ownKeys(settings, PREFIX, ALL_KEYS));
  }

  /** A configuration with every key at its default. */
  public static TransportConf defaults() {
    return fromMap(Map.of());
  }

  /** A copy of this configuration with some keys changed. */
  public TransportConf with(Map<String, String> overrides) {
    Map<String, String> merged = new LinkedHashMap<>(raw);
    merged.putAll(overrides);
    return fromMap(merged);
  }

  /** Every key of the transport, in declaration order. */
  public static List<ConfigKey<?>> allKeys() {
    return ALL_KEYS;
  }

  /** The typed value of a key: the configured one, or its default. */
  public <T> T get(ConfigKey<T> key) {
    return key.parse(raw.getOrDefault(key.name(), key.defaultValue()));
  }

  /** The settings given explicitly, as a map that {@link #fromMap} reads back. */
  public Map<String, String> toMap() {
    return raw;
  }

  /** The tiers this node may use, in preference order. */
  public List<Tier> tiers() {
    return tiers;
  }

  public long readTimeoutMillis() {
    return get(READ_TIMEOUT);
  }

  public long connectTimeoutMillis() {
    return get(CONNECT_TIMEOUT);
  }

  /** Reads a size key that must fit an {@code int}, naming the key when it does not. */
  public int getInt(ConfigKey<Long> key) {
    long v = get(key);
    if (v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(key.name() + " = " + v + " exceeds " + Integer.MAX_VALUE);
    }
    return (int) v;
  }

  private void validate() {
    for (ConfigKey<?> key : ALL_KEYS) {
      get(key);
    }
    if (get(PORT) > 65535) {
      throw new IllegalArgumentException(PORT.name() + " = " + get(PORT) + " is not a TCP port");
    }
    long chunk = get(SHM_CHUNK_BYTES);
    if (chunk < 4096 || Long.bitCount(chunk) != 1) {
      throw new IllegalArgumentException(SHM_CHUNK_BYTES.name() + " = " + chunk
          + " must be a power of two of at least 4096");
    }
    long poolMax = get(POOL_MAX_BUFFER);
    if (poolMax < 4096 || poolMax > (1L << 30) || Long.bitCount(poolMax) != 1) {
      throw new IllegalArgumentException(POOL_MAX_BUFFER.name() + " = " + poolMax
          + " must be a power of two between 4096 and 1g");
    }
    if (get(TCP_IO_THREADS) < 1) {
      throw new IllegalArgumentException(TCP_IO_THREADS.name() + " must be at least 1");
    }
    long arenaBytes = get(SHM_ARENA_BYTES);
    long maxArenaBytes = SharedArena.maxArenaBytes(chunk, getInt(SHM_MAX_PROCESSES));
    if (arenaBytes > maxArenaBytes) {
      // The chunk table is mapped as one buffer, so it bounds the chunk count; larger chunks allow more.
      throw new IllegalArgumentException(SHM_ARENA_BYTES.name() + " = " + arenaBytes + " is more than the "
          + maxArenaBytes + " bytes an arena of " + chunk + "-byte chunks can address; raise "
          + SHM_CHUNK_BYTES.name());
    }
    if (!get(FAULT_TIER).isEmpty()) {
      Tier.fromName(get(FAULT_TIER));
    }
    getInt(TCP_MAX_FRAME);
    String completion = get(VERBS_COMPLETION);
    if (!completion.equals("channel") && !completion.equals("poll")) {
      throw new IllegalArgumentException(VERBS_COMPLETION.name() + " = " + completion
          + " must be 'channel' or 'poll'");
    }
    if (get(VERBS_PORT) > 65535) {
      throw new IllegalArgumentException(VERBS_PORT.name() + " = " + get(VERBS_PORT) + " is not a port");
    }
    long piece = get(VERBS_PIECE_BYTES);
    if (piece < 4096 || piece > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(VERBS_PIECE_BYTES.name() + " = " + piece
          + " must be between 4096 and " + Integer.MAX_VALUE + " (2 GiB - 1)");
    }
    for (ConfigKey<Long> key : List.of(VERBS_QUEUE_DEPTH, VERBS_READS_IN_FLIGHT, VERBS_CQ_SIZE)) {
      if (get(key) < 1 || get(key) > (1 << 20)) {
        throw new IllegalArgumentException(key.name() + " = " + get(key) + " must be between 1 and " + (1 << 20));
      }
    }
  }

  private static List<Tier> parseTiers(String value) {
    List<Tier> out = new ArrayList<>();
    for (String part : value.split(",")) {
      String name = part.trim();
      if (name.isEmpty()) {
        continue;
      }
      Tier tier = Tier.fromName(name);
      if (out.contains(tier)) {
        throw new IllegalArgumentException(TIERS.name() + " names " + name + " twice");
      }
      out.add(tier);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(TIERS.name() + " names no tier");
    }
    return Collections.unmodifiableList(out);
  }

  /** The transport's section of the configuration reference. */
  public static final class Section implements ConfigSection {
    @Override
    public int order() {
      return 10;
    }

    @Override
    public String title() {
      return "Transport (`vrdma.transport.*`)";
    }

    @Override
    public String intro() {
      return "Read by every transport node (`TransportConf.fromMap`); the Spark and Hadoop integrations adapt"
          + " their own configuration onto these keys.";
    }

    @Override
    public List<ConfigKey<?>> keys() {
      return ALL_KEYS;
    }
  }

  @Override
  public String toString() {
    return "TransportConf" + raw;
  }
}
