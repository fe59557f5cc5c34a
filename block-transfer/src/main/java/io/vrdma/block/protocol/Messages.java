package io.vrdma.block.protocol;

import io.vrdma.block.BlockConf.MessagesLimits;
import io.vrdma.block.BlockException.MalformedMessageException;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The block protocol, carried in the transport's control messages. Every message starts with a type
 * byte. Every count and length is checked against {@link MessagesLimits} before anything is allocated,
 * so a hostile peer cannot make the server allocate more than its message's own size.
 *
 * <pre>
 * AUTH_CHALLENGE  [ns]                       → [32-byte nonce]
 * AUTH_PROOF      [ns][32-byte HMAC]([32-byte client nonce])
 *                                            → [1] authenticated, or [2] authenticated and encrypted from the next
 *                                              byte on (the client sent its nonce, see {@link ChannelEncryption});
 *                                              a wrong proof closes the connection
 * LOCATE          [ns][byte tier][int maxRunBytes][int maxInlineBytes][int n][id]×n
 *                                            → [int r] runs: [long lease][long length][byte k]([descriptor][long offset])×k,
 *                                              or with k = 255 (inline) [long 0][long length][255][length bytes]
 *                                              [int n] per block: [0] missing, [2] deferred (the window is full: ask again)
 *                                               or [1][int run][long offset in run][long length][1|0][int crc32c]
 * RELEASE         [int n][long lease]×n      → []
 * </pre>
 * Strings are {@code [short length][UTF-8]}. {@code tier} is the tier the reader will read with: on a tier that
 * stages ({@code shm}, {@code verbs}) the server places the blocks in its window and answers with a lease, which
 * the reader gives back with {@code RELEASE} once it is done with the bytes (lease 0: nothing to give back).
 *
 * <p>A <em>run</em> is a stretch of blocks asked for one after another that lie back to back in one file (the
 * contiguous reduce partitions of one map output): the server stages it as one region under one lease and the
 * reader reads it with one read, then cuts it into its blocks. So the region descriptors go once per run, each
 * block is an index and an offset, and a map output's many small blocks cost one round trip, not one each. A run
 * is at most {@code maxRunBytes} (what the reader can take in one receive buffer) unless it is a single block.
 *
 * <p>A run of at most {@code maxInlineBytes} may come <em>inline</em>: its bytes are in the answer itself, so a
 * small block costs no staging, no lease and no second round trip (the many tiny blocks of a job with thousands of
 * maps and reducers). The server bounds the inline bytes of one answer and serves the rest as usual.
 */
public final class Messages {
  public static final byte AUTH_CHALLENGE = 1;
  public static final byte AUTH_PROOF = 2;
  public static final byte LOCATE = 3;
  public static final byte RELEASE = 4;
  public static final byte CHECKSUMS = 5;

  private static final byte MISSING = 0;
  private static final byte LOCATED = 1;
  private static final byte DEFERRED = 2;
  /** The placement count that marks an inline run: its bytes follow in the answer. */
  private static final int INLINE_RUN = 0xff;
  /** A located block's checksum field: none, given, or to be asked for with CHECKSUMS after the read. */
  private static final byte CRC_NONE = 0;
  private static final byte CRC_GIVEN = 1;
  private static final byte CRC_FOLLOWS = 2;

  public static final int NONCE_BYTES = 32;
  public static final int MAC_BYTES = 32;
  /** AUTH_PROOF answer: authenticated, the connection stays as it is. */
  public static final byte PROOF_OK = 1;
  /** AUTH_PROOF answer: authenticated, and every byte after this answer is encrypted both ways. */
  public static final byte PROOF_OK_ENCRYPTED = 2;

  private Messages() {}

  /** A request as the server decodes it. */
  public sealed interface Request permits NamespaceRequest, Release {}

  /** A request about one namespace (every request but {@link Release}, whose leases are the connection's own). */
  public sealed interface NamespaceRequest extends Request permits AuthChallenge, AuthProof, Locate, Checksums {
    String namespace();
  }

  public record AuthChallenge(String namespace) implements NamespaceRequest {}

  /** @param clientNonce the client's nonce when it asks to encrypt the connection, else null */
  public record AuthProof(String namespace, byte[] mac, byte[] clientNonce) implements NamespaceRequest {}

  /**
   * @param tier the tier the reader will read the blocks with
   * @param maxRunBytes the largest run of several blocks the reader takes in one read
   * @param maxInlineBytes the largest run the reader takes inline, in the answer (0: none)
   */
  public record Locate(String namespace, Tier tier, int maxRunBytes, int maxInlineBytes, List<String> blockIds)
      implements NamespaceRequest {}

  /**
   * Asks for the checksums of blocks located with {@link Location#checksumFollows()}: the server computed them
   * while the reader read the blocks, so that the file pass is not on the read's path.
   */
  public record Checksums(String namespace, List<String> blockIds) implements NamespaceRequest {}

  /** Gives back leases the connection holds. */
  public record Release(long[] leases) implements Request {}

  /** Where a block's bytes lie in one region: the region and the block's first byte in it. */
  public record Placement(RegionDescriptor region, long offset) {}

  /**
   * Blocks that lie back to back, served as one region: the reader reads {@code length} bytes once.
   *
   * @param lease what the reader gives back with RELEASE when done with the run's bytes; 0 when nothing was staged
   * @param length the run's bytes
   * @param placements per tier, the region and the run's first byte in it (none for an inline run)
   * @param inline the run's bytes when they came in the answer itself, else null
   */
  public record Run(long lease, long length, Map<Tier, Placement> placements, ByteBuffer inline) {
    public Run(long lease, long length, Map<Tier, Placement> placements) {
      this(lease, length, placements, null);
    }

    /** A run whose bytes travel in the answer. */
    public static Run inline(ByteBuffer bytes) {
      return new Run(0, bytes.remaining(), Map.of(), bytes);
    }

    public boolean isInline() {
      return inline != null;
    }
  }

  /**
   * Where a located block lives: a stretch of one run of the answer.
   *
   * @param run the index of the block's run in {@link LocateAnswer#runs()}
   * @param offset the block's first byte in its run
   * @param length the block's bytes
   * @param checksum CRC32C of the bytes, or null when the server computes none or it follows
   * @param checksumFollows the server computes the CRC32C while the reader reads the block (a large block served
   *     in place, whose checksum would otherwise cost a pass over its file before the answer): the reader asks for
   *     it with CHECKSUMS and checks the bytes before delivering them
   */
  public record Location(int run, long offset, long length, Integer checksum, boolean checksumFollows) {
    /** A block the server could not place in its window yet: the reader asks for it again. */
    public static final Location DEFERRED = new Location(-1, -1, -1, null);

    /** A location whose checksum (if any) is given. */
    public Location(int run, long offset, long length, Integer checksum) {
      this(run, offset, length, checksum, false);
    }

    /** This location with its checksum, which followed. */
    public Location withChecksum(int crc) {
      return new Location(run, offset, length, crc, false);
    }

    public boolean deferred() {
      return this == DEFERRED;
    }
  }

  /** The answer to a LOCATE: its runs, and per id asked its location (null: not published). */
  public record LocateAnswer(List<Run> runs, List<Location> blocks) {
    /** The run a located block lies in. */
    public Run runOf(Location location) {
      return runs.get(location.run());
    }
  }

  /** Decodes a request, refusing anything malformed with a one-line reason. */
  public static Request decodeRequest(ByteBuffer in) throws MalformedMessageException {
    try {
      if (!in.hasRemaining()) {
        throw new MalformedMessageException("empty block message");
      }
      byte type = in.get();
      Request r = switch (type) {
        case AUTH_CHALLENGE -> new AuthChallenge(string(in, "namespace"));
        case AUTH_PROOF -> {
          String ns = string(in, "namespace");
          byte[] mac = bytes(in, MAC_BYTES);
          byte[] clientNonce = in.remaining() == NONCE_BYTES ? bytes(in, NONCE_BYTES) : null;
          yield new AuthProof(ns, mac, clientNonce);
        }
        case LOCATE -> {
          String ns = string(in, "namespace");
          Tier tier = tier(in.get());
          int maxRunBytes = in.getInt();
          int maxInlineBytes = in.getInt();
          if (maxRunBytes < 0 || maxInlineBytes < 0) {
            throw new MalformedMessageException("LOCATE with a run limit of " + maxRunBytes + " bytes, inline "
                + maxInlineBytes);
          }
          yield new Locate(ns, tier, maxRunBytes, maxInlineBytes, blockIds(in, "LOCATE"));
        }
        case CHECKSUMS -> {
          String ns = string(in, "namespace");
          yield new Checksums(ns, blockIds(in, "CHECKSUMS"));
        }
        case RELEASE -> {
          int n = in.getInt();
          if (n < 0 || n > in.remaining() / 8) {
            throw new MalformedMessageException("RELEASE claims " + n + " leases in " + in.remaining() + " bytes");
          }
          long[] leases = new long[n];
          for (int i = 0; i < n; i++) {
            leases[i] = in.getLong();
          }
          yield new Release(leases);
        }
        default -> throw new MalformedMessageException("unknown block message type " + type);
      };
      if (in.hasRemaining()) {
        throw new MalformedMessageException(in.remaining() + " stray bytes after a block message");
      }
      return r;
    } catch (BufferUnderflowException e) {
      throw new MalformedMessageException("truncated block message");
    }
  }

  /** A count and that many block ids, as LOCATE and CHECKSUMS carry them. */
  private static List<String> blockIds(ByteBuffer in, String what) throws MalformedMessageException {
    int n = in.getInt();
    if (n < 0 || n > MessagesLimits.MAX_BLOCKS_PER_LOCATE) {
      throw new MalformedMessageException(what + " of " + n + " blocks (limit "
          + MessagesLimits.MAX_BLOCKS_PER_LOCATE + ")");
    }
    if (n > in.remaining() / 3) {
      throw new MalformedMessageException(what + " claims " + n + " blocks in " + in.remaining() + " bytes");
    }
    List<String> ids = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      ids.add(string(in, "block id"));
    }
    return ids;
  }

  public static ByteBuffer authChallenge(String namespace) {
    return message(AUTH_CHALLENGE, namespace, 0).flip();
  }

  public static ByteBuffer authProof(String namespace, byte[] mac) {
    return authProof(namespace, mac, null);
  }

  /** A proof that also asks to encrypt the connection when {@code clientNonce} is given. */
  public static ByteBuffer authProof(String namespace, byte[] mac, byte[] clientNonce) {
    ByteBuffer b = message(AUTH_PROOF, namespace, mac.length + (clientNonce == null ? 0 : clientNonce.length));
    b.put(mac);
    if (clientNonce != null) {
      b.put(clientNonce);
    }
    return b.flip();
  }

  public static ByteBuffer release(long[] leases) {
    ByteBuffer b = ByteBuffer.allocate(1 + 4 + 8 * leases.length).put(RELEASE).putInt(leases.length);
    for (long lease : leases) {
      b.putLong(lease);
    }
    return b.flip();
  }

  /** A LOCATE that takes no run inline. */
  public static ByteBuffer locate(String namespace, Tier tier, int maxRunBytes, List<String> blockIds) {
    return locate(namespace, tier, maxRunBytes, 0, blockIds);
  }

  /**
   * @param tier the tier the reader will read with: a staging tier gets the blocks placed in its window
   * @param maxRunBytes the largest run of several blocks the reader reads at once
   * @param maxInlineBytes the largest run the reader takes in the answer itself (0: none)
   */
  public static ByteBuffer locate(String namespace, Tier tier, int maxRunBytes, int maxInlineBytes,
      List<String> blockIds) {
    List<byte[]> encoded = utf8(blockIds);
    ByteBuffer b = message(LOCATE, namespace, 1 + 4 + 4 + idsBytes(encoded)).put((byte) tier.ordinal())
        .putInt(maxRunBytes).putInt(maxInlineBytes);
    return putIds(b, encoded).flip();
  }

  /** Asks for the checksums that follow of blocks located on this connection. */
  public static ByteBuffer checksums(String namespace, List<String> blockIds) {
    List<byte[]> encoded = utf8(blockIds);
    return putIds(message(CHECKSUMS, namespace, idsBytes(encoded)), encoded).flip();
  }

  private static List<byte[]> utf8(List<String> ids) {
    List<byte[]> encoded = new ArrayList<>(ids.size());
    for (String id : ids) {
      encoded.add(utf8(id));
    }
    return encoded;
  }

  private static int idsBytes(List<byte[]> encoded) {
    int size = 4;
    for (byte[] e : encoded) {
      size += 2 + e.length;
    }
    return size;
  }

  private static ByteBuffer putIds(ByteBuffer b, List<byte[]> encoded) {
    b.putInt(encoded.size());
    for (byte[] e : encoded) {
      b.putShort((short) e.length).put(e);
    }
    return b;
  }

  /** Encodes the answer to CHECKSUMS: per id asked, its CRC32C, or null when the block is not published. */
  public static ByteBuffer checksumsAnswer(Integer[] checksums) {
    ByteBuffer b = ByteBuffer.allocate(4 + 5 * checksums.length).putInt(checksums.length);
    for (Integer crc : checksums) {
      b.put(crc == null ? MISSING : LOCATED).putInt(crc == null ? 0 : crc);
    }
    return b.flip();
  }

  /** Decodes the answer to a CHECKSUMS of {@code expected} ids. */
  public static Integer[] decodeChecksumsAnswer(ByteBuffer in, int expected) throws TransportException {
    try {
      int n = in.getInt();
      if (n != expected || in.remaining() != 5L * n) {
        throw new MalformedMessageException("CHECKSUMS answer with " + n + " entries (" + in.remaining()
            + " bytes) for " + expected + " ids");
      }
      Integer[] out = new Integer[n];
      for (int i = 0; i < n; i++) {
        byte status = in.get();
        int crc = in.getInt();
        if (status != LOCATED && status != MISSING) {
          throw new MalformedMessageException("CHECKSUMS answer entry of status " + status);
        }
        out[i] = status == LOCATED ? crc : null;
      }
      return out;
    } catch (BufferUnderflowException e) {
      throw new MalformedMessageException("truncated CHECKSUMS answer");
    }
  }

  /** Encodes the answer to a LOCATE. */
  public static ByteBuffer locateAnswer(LocateAnswer answer) {
    int size = 4 + 4;
    for (Run r : answer.runs()) {
      size += 8 + 8 + 1 + (r.isInline() ? r.inline().remaining()
          : r.placements().size() * (RegionDescriptor.SERIALIZED_BYTES + 8));
    }
    for (Location l : answer.blocks()) {
      size += 1 + (l == null || l.deferred() ? 0 : 4 + 8 + 8 + 1 + 4);
    }
    ByteBuffer b = ByteBuffer.allocate(size).putInt(answer.runs().size());
    for (Run r : answer.runs()) {
      if (r.isInline()) {
        b.putLong(0).putLong(r.length()).put((byte) INLINE_RUN).put(r.inline().duplicate());
        continue;
      }
      b.putLong(r.lease()).putLong(r.length()).put((byte) r.placements().size());
      for (Placement p : r.placements().values()) {
        p.region().writeTo(b);
        b.putLong(p.offset());
      }
    }
    b.putInt(answer.blocks().size());
    for (Location l : answer.blocks()) {
      if (l == null || l.deferred()) {
        b.put(l == null ? MISSING : DEFERRED);
        continue;
      }
      b.put(LOCATED).putInt(l.run()).putLong(l.offset()).putLong(l.length());
      b.put(l.checksum() != null ? CRC_GIVEN : l.checksumFollows() ? CRC_FOLLOWS : CRC_NONE)
          .putInt(l.checksum() == null ? 0 : l.checksum());
    }
    return b.flip();
  }

  /** Decodes the answer to a LOCATE of {@code expected} ids, checking every run index and offset against its run. */
  public static LocateAnswer decodeLocateAnswer(ByteBuffer in, int expected) throws TransportException {
    try {
      int r = in.getInt();
      if (r < 0 || r > expected || r > in.remaining() / 17) {
        throw new MalformedMessageException("LOCATE answer with " + r + " runs for " + expected + " ids");
      }
      List<Run> runs = new ArrayList<>(r);
      for (int i = 0; i < r; i++) {
        long lease = in.getLong();
        long length = in.getLong();
        int k = in.get() & 0xff;
        if (k == INLINE_RUN) {
          if (length < 0 || length > in.remaining()) {
            throw new MalformedMessageException("LOCATE answer inline run of " + length + " bytes in "
                + in.remaining());
          }
          // a copy of its own: the answer's buffer belongs to the transport
          byte[] bytes = new byte[(int) length];
          in.get(bytes);
          runs.add(Run.inline(ByteBuffer.wrap(bytes)));
          continue;
        }
        Map<Tier, Placement> placements = new EnumMap<>(Tier.class);
        for (int j = 0; j < k; j++) {
          RegionDescriptor d = RegionDescriptor.readFrom(in);
          placements.put(d.tier(), new Placement(d, in.getLong()));
        }
        if (length < 0) {
          throw new MalformedMessageException("LOCATE answer run of " + length + " bytes");
        }
        runs.add(new Run(lease, length, placements));
      }
      int n = in.getInt();
      if (n != expected) {
        throw new MalformedMessageException("LOCATE answer with " + n + " entries for " + expected + " ids");
      }
      List<Location> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        byte status = in.get();
        if (status != LOCATED) {
          if (status != MISSING && status != DEFERRED) {
            throw new MalformedMessageException("LOCATE answer entry of status " + status);
          }
          out.add(status == MISSING ? null : Location.DEFERRED);
          continue;
        }
        int run = in.getInt();
        long offset = in.getLong();
        long length = in.getLong();
        byte crcField = in.get();
        int crc = in.getInt();
        if (crcField != CRC_NONE && crcField != CRC_GIVEN && crcField != CRC_FOLLOWS) {
          throw new MalformedMessageException("LOCATE answer block " + i + " with checksum field " + crcField);
        }
        if (run < 0 || run >= runs.size() || offset < 0 || length < 0 || offset + length > runs.get(run).length()) {
          throw new MalformedMessageException("LOCATE answer block " + i + " at " + offset + "+" + length
              + " outside its run " + run + " of " + runs.size());
        }
        out.add(new Location(run, offset, length, crcField == CRC_GIVEN ? crc : null, crcField == CRC_FOLLOWS));
      }
      return new LocateAnswer(runs, out);
    } catch (BufferUnderflowException e) {
      throw new MalformedMessageException("truncated LOCATE answer");
    }
  }

  private static Tier tier(byte ordinal) throws MalformedMessageException {
    Tier[] tiers = Tier.values();
    if (ordinal < 0 || ordinal >= tiers.length) {
      throw new MalformedMessageException("unknown tier " + ordinal);
    }
    return tiers[ordinal];
  }

  private static ByteBuffer message(byte type, String namespace, int extra) {
    byte[] ns = utf8(namespace);
    return ByteBuffer.allocate(1 + 2 + ns.length + extra).put(type).putShort((short) ns.length).put(ns);
  }

  private static byte[] utf8(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length == 0 || b.length > MessagesLimits.MAX_ID_BYTES) {
      throw new IllegalArgumentException("id of " + b.length + " bytes (1.." + MessagesLimits.MAX_ID_BYTES + "): " + s);
    }
    return b;
  }

  private static String string(ByteBuffer in, String what) throws MalformedMessageException {
    int length = in.getShort() & 0xffff;
    if (length == 0 || length > MessagesLimits.MAX_ID_BYTES) {
      throw new MalformedMessageException(what + " of " + length + " bytes (1.." + MessagesLimits.MAX_ID_BYTES + ")");
    }
    byte[] b = bytes(in, length);
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      throw new MalformedMessageException(what + " is not UTF-8");
    }
  }

  private static byte[] bytes(ByteBuffer in, int n) throws MalformedMessageException {
    if (in.remaining() < n) {
      throw new MalformedMessageException("truncated block message: " + n + " bytes expected, " + in.remaining() + " left");
    }
    byte[] b = new byte[n];
    in.get(b);
    return b;
  }
}
