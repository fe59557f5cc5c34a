package io.vrdma.block;

import io.vrdma.transport.config.ConfigKey;
import io.vrdma.transport.config.ConfigSection;
import java.util.List;
import java.util.Map;

/**
 * The block layer's configuration: flow control, retries and integrity of the block client, and what the
 * block server checks. Every key is a documented constant with its default; an instance reads them from
 * a plain map, as {@link io.vrdma.transport.config.TransportConf} does for the transport.
 */
public final class BlockConf {
  /** Every key of the block layer starts with this prefix. */
  public static final String PREFIX = "vrdma.block.";

  public static final ConfigKey<Long> MAX_BYTES_IN_FLIGHT = ConfigKey.size(PREFIX + "maxBytesInFlight", "96m",
      "Bytes of blocks a client may be reading at once, over all peers. A block larger than this is still"
          + " fetched, alone.");
  public static final ConfigKey<Long> MAX_BYTES_IN_FLIGHT_PER_PEER = ConfigKey.size(PREFIX + "maxBytesInFlightPerPeer",
      "48m", "Bytes of blocks a client may be reading at once from one peer.");
  public static final ConfigKey<Long> MAX_REQUESTS_IN_FLIGHT = ConfigKey.size(PREFIX + "maxRequestsInFlight", "512",
      "Reads a client may have in flight at once, over all peers.");
  public static final ConfigKey<Long> MAX_REQUESTS_IN_FLIGHT_PER_PEER = ConfigKey.size(
      PREFIX + "maxRequestsInFlightPerPeer", "128", "Reads a client may have in flight at once to one peer.");
  public static final ConfigKey<Long> MAX_RETRIES = ConfigKey.size(PREFIX + "maxRetries", "3",
      "How often a block whose read failed on every tier is tried again (with a fresh connection when the"
          + " old one is gone) before the failure is reported.");
  public static final ConfigKey<Long> RETRY_WAIT = ConfigKey.millis(PREFIX + "retryWait", "200ms",
      "Wait before the first retry; it doubles with each further retry.");
  public static final ConfigKey<Boolean> CHECKSUM = ConfigKey.bool(PREFIX + "checksum", true,
      "Server: compute a CRC32C of each block the first time a reader asks for it (from the window's copy when"
          + " the block is staged, else from the file). Client: verify it; a mismatch is fetched again once, then"
          + " reported as a corrupt block, never delivered.");
  public static final ConfigKey<Long> STAGE_MAX_BYTES_PER_PEER = ConfigKey.size(PREFIX + "stage.maxBytesPerPeer",
      "64m", "Server: bytes of staged blocks (shm arena, verbs registrations) one reader connection may hold at"
          + " once; at most half the tier's window is used, so that two readers always share it. A reader at its"
          + " limit waits for its own releases; a block larger than the limit goes alone.");
  public static final ConfigKey<Long> STAGE_WAIT = ConfigKey.millis(PREFIX + "stage.wait", "10s",
      "Server: how long a locate request waits for room in a full window before its blocks are answered with"
          + " their tcp places instead (counted as window fallbacks, logged at INFO once per namespace). Must be"
          + " below vrdma.transport.readTimeout.");
  public static final ConfigKey<Long> STAGE_LEASE_TIMEOUT = ConfigKey.millis(PREFIX + "stage.leaseTimeout", "120s",
      "Server: a staged block not given back within this time is taken back (a reader that stalls); a reader"
          + " whose connection closes loses its leases at once. A reader that was still reading the block in"
          + " place sees its stream fail, never another block's bytes.");
  public static final ConfigKey<Long> STAGE_THREADS = ConfigKey.size(PREFIX + "stage.threads", "2",
      "Server: threads that place requested blocks in the window (file reads, copies, checksums); the"
          + " transport's event loops never do.");
  public static final ConfigKey<Boolean> SHM_IN_PLACE = ConfigKey.bool(PREFIX + "shmInPlace", true,
      "Client: read blocks served over shm where they lie in the peer's arena instead of copying them into a"
          + " receive buffer (no copy, no spill file for large blocks). A block whose region is freed while it is"
          + " read ends its stream with an IOException; false copies every block.");
  public static final ConfigKey<Long> LOCATE_BATCH = ConfigKey.size(PREFIX + "locateBatch", "1024",
      "Block ids per locate request (one round trip each).");
  public static final ConfigKey<String> SPILL_DIR = ConfigKey.string(PREFIX + "spillDir", "",
      "Where a block larger than the largest pooled buffer is assembled as a file: comma-separated directories,"
          + " used in turn. The engines set it to their own local dirs (Spark's block manager dirs, YARN's container"
          + " dirs); empty: java.io.tmpdir.");
  public static final ConfigKey<Long> CLIENT_MAX_RUN_BYTES = ConfigKey.size(PREFIX + "client.maxRunBytes", "2m",
      "Client: blocks asked for together that lie back to back on the peer (the contiguous reduce partitions of one"
          + " map output) are staged and read as one run of at most this many bytes (and at most one pooled"
          + " buffer), then cut into blocks: one read instead of one per block. 0 reads every block alone.");
  public static final ConfigKey<Long> CLIENT_INLINE_BYTES = ConfigKey.size(PREFIX + "client.inlineBytes", "4k",
      "Client: a run of at most this many bytes comes in the locate answer itself instead of being staged and read"
          + " (no staging copy, no lease, no second round trip): what makes the tiny blocks of jobs with thousands"
          + " of maps and reducers cheap. Its bytes cross the control connection and are counted as inline, not"
          + " under a tier. 0 turns it off.");
  public static final ConfigKey<Long> STAGE_INLINE_ANSWER_BYTES = ConfigKey.size(PREFIX + "stage.inlineAnswerBytes",
      "256k", "Server: the most bytes of small runs one locate answer carries inline; the runs beyond it are"
          + " staged (or served in place) as usual.");
  public static final ConfigKey<Long> CLIENT_THREADS = ConfigKey.size(PREFIX + "client.threads", "2",
      "Client: threads that handle locate answers and read completions (checksums, cutting runs into blocks,"
          + " spill files, delivery to the engine); the transport's event loops only move bytes.");

  private static final List<ConfigKey<?>> ALL_KEYS = ConfigSection.keysDeclaredIn(BlockConf.class);

  private final Map<String, String> raw;

  private BlockConf(Map<String, String> raw) {
    this.raw = raw;
    for (ConfigKey<?> key : ALL_KEYS) {
      get(key);
    }
    if (get(MAX_BYTES_IN_FLIGHT) < 1 || get(MAX_BYTES_IN_FLIGHT_PER_PEER) < 1 || get(MAX_REQUESTS_IN_FLIGHT) < 1
        || get(MAX_REQUESTS_IN_FLIGHT_PER_PEER) < 1 || get(LOCATE_BATCH) < 1) {
      throw new IllegalArgumentException("flow-control limits under " + PREFIX + " must be at least 1");
    }
    if (get(CLIENT_INLINE_BYTES) > 1 << 20 || get(STAGE_INLINE_ANSWER_BYTES) > 8 << 20) {
      throw new IllegalArgumentException(CLIENT_INLINE_BYTES.name() + " must be at most 1m and "
          + STAGE_INLINE_ANSWER_BYTES.name() + " at most 8m (they travel in control messages)");
    }
    if (get(LOCATE_BATCH) > MessagesLimits.MAX_BLOCKS_PER_LOCATE) {
      throw new IllegalArgumentException(LOCATE_BATCH.name() + " must be at most " + MessagesLimits.MAX_BLOCKS_PER_LOCATE);
    }
  }

  /** Reads a configuration from a plain map; keys outside {@link #PREFIX} are ignored. */
  public static BlockConf fromMap(Map<String, String> settings) {
    return new BlockConf(ConfigSection.ownKeys(settings, PREFIX, ALL_KEYS));
  }

  public static BlockConf defaults() {
    return fromMap(Map.of());
  }

  /** The typed value of a key: the configured one, or its default. */
  public <T> T get(ConfigKey<T> key) {
    return key.parse(raw.getOrDefault(key.name(), key.defaultValue()));
  }

  /** Limits of the block protocol that are not configuration: they bound what a peer can make us allocate. */
  public static final class MessagesLimits {
    public static final int MAX_BLOCKS_PER_LOCATE = 16_384;
    public static final int MAX_ID_BYTES = 1024;

    private MessagesLimits() {}
  }

  /** The block layer's section of the configuration reference. */
  public static final class Section implements ConfigSection {
    @Override
    public int order() {
      return 20;
    }

    @Override
    public String title() {
      return "Block transfer (`vrdma.block.*`)";
    }

    @Override
    public String intro() {
      return "Read by the block server and block client (`BlockConf.fromMap`).";
    }

    @Override
    public List<ConfigKey<?>> keys() {
      return ALL_KEYS;
    }
  }
}
