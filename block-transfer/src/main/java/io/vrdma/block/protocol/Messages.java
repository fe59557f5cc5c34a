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
 * LOCATE          [ns][byte tier][int n][id]×n
 *                                            → [int n] per block: [0] missing, [2] deferred (the window is full: ask again)
 *                                               or [1][long length][1|0][int crc32c][long lease][byte k]([descriptor][long offset])×k
 * RELEASE         [int n][long lease]×n      → []
 * </pre>
 * Strings are {@code [short length][UTF-8]}. {@code tier} is the tier the reader will read with: on a tier that
 * stages ({@code shm}, {@code verbs}) the server places the blocks in its window and answers with a lease, which
 * the reader gives back with {@code RELEASE} once it is done with the bytes (lease 0: nothing to give back).
 */
public final class Messages {
  public static final byte AUTH_CHALLENGE = 1;
  public static final byte AUTH_PROOF = 2;
  public static final byte LOCATE = 3;
  public static final byte RELEASE = 4;

  private static final byte MISSING = 0;
  private static final byte LOCATED = 1;
  private static final byte DEFERRED = 2;

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
  public sealed interface NamespaceRequest extends Request permits AuthChallenge, AuthProof, Locate {
    String namespace();
  }

  public record AuthChallenge(String namespace) implements NamespaceRequest {}

  /** @param clientNonce the client's nonce when it asks to encrypt the connection, else null */
  public record AuthProof(String namespace, byte[] mac, byte[] clientNonce) implements NamespaceRequest {}

  /** @param tier the tier the reader will read the blocks with */
  public record Locate(String namespace, Tier tier, List<String> blockIds) implements NamespaceRequest {}

  /** Gives back leases the connection holds. */
  public record Release(long[] leases) implements Request {}

  /** Where a block's bytes lie in one region: the region and the block's first byte in it. */
  public record Placement(RegionDescriptor region, long offset) {}

  /**
   * Where a located block lives: the same bytes on every tier the server has them on.
   *
   * @param length the block's bytes
   * @param checksum CRC32C of the bytes, or null when the server computes none
   * @param lease what the reader gives back with RELEASE when done with the bytes; 0 when nothing was staged
   * @param placements per tier, the region and the block's offset in it
   */
  public record Location(long length, Integer checksum, long lease, Map<Tier, Placement> placements) {
    /** A block the server could not place in its window yet: the reader asks for it again. */
    public static final Location DEFERRED = new Location(-1, null, 0, Map.of());

    public boolean deferred() {
      return this == DEFERRED;
    }

    public Location withLease(long id) {
      return new Location(length, checksum, id, placements);
    }

    public Location withChecksum(Integer crc) {
      return new Location(length, crc, lease, placements);
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
          int n = in.getInt();
          if (n < 0 || n > MessagesLimits.MAX_BLOCKS_PER_LOCATE) {
            throw new MalformedMessageException("LOCATE of " + n + " blocks (limit "
                + MessagesLimits.MAX_BLOCKS_PER_LOCATE + ")");
          }
          if (n > in.remaining() / 3) {
            throw new MalformedMessageException("LOCATE claims " + n + " blocks in " + in.remaining() + " bytes");
          }
          List<String> ids = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            ids.add(string(in, "block id"));
          }
          yield new Locate(ns, tier, ids);
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

  /** @param tier the tier the reader will read with: a staging tier gets the blocks placed in its window */
  public static ByteBuffer locate(String namespace, Tier tier, List<String> blockIds) {
    List<byte[]> encoded = new ArrayList<>(blockIds.size());
    int size = 1 + 4;
    for (String id : blockIds) {
      byte[] e = utf8(id);
      encoded.add(e);
      size += 2 + e.length;
    }
    ByteBuffer b = message(LOCATE, namespace, size).put((byte) tier.ordinal()).putInt(blockIds.size());
    for (byte[] e : encoded) {
      b.putShort((short) e.length).put(e);
    }
    return b.flip();
  }

  /** Encodes the answer to a LOCATE: one entry per id asked, null for a missing block. */
  public static ByteBuffer locateAnswer(List<Location> locations) {
    int size = 4;
    for (Location l : locations) {
      size += 1 + (l == null || l.deferred() ? 0
          : 8 + 1 + 4 + 8 + 1 + l.placements().size() * (RegionDescriptor.SERIALIZED_BYTES + 8));
    }
    ByteBuffer b = ByteBuffer.allocate(size).putInt(locations.size());
    for (Location l : locations) {
      if (l == null || l.deferred()) {
        b.put(l == null ? MISSING : DEFERRED);
        continue;
      }
      b.put(LOCATED).putLong(l.length());
      b.put((byte) (l.checksum() == null ? 0 : 1)).putInt(l.checksum() == null ? 0 : l.checksum());
      b.putLong(l.lease()).put((byte) l.placements().size());
      for (Placement p : l.placements().values()) {
        p.region().writeTo(b);
        b.putLong(p.offset());
      }
    }
    return b.flip();
  }

  /** Decodes the answer to a LOCATE of {@code expected} ids: null for a missing block. */
  public static List<Location> decodeLocateAnswer(ByteBuffer in, int expected) throws TransportException {
    try {
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
        long length = in.getLong();
        boolean hasCrc = in.get() != 0;
        int crc = in.getInt();
        long lease = in.getLong();
        int k = in.get() & 0xff;
        Map<Tier, Placement> placements = new EnumMap<>(Tier.class);
        for (int j = 0; j < k; j++) {
          RegionDescriptor d = RegionDescriptor.readFrom(in);
          placements.put(d.tier(), new Placement(d, in.getLong()));
        }
        out.add(new Location(length, hasCrc ? crc : null, lease, placements));
      }
      return out;
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
