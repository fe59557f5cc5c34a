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
 * LOCATE          [ns][int n][id]×n          → [int n] per block: [0] missing
 *                                               or [1][long offset][long length][1|0][int crc32c][byte k][descriptor]×k
 * </pre>
 * Strings are {@code [short length][UTF-8]}.
 */
public final class Messages {
  public static final byte AUTH_CHALLENGE = 1;
  public static final byte AUTH_PROOF = 2;
  public static final byte LOCATE = 3;

  public static final int NONCE_BYTES = 32;
  public static final int MAC_BYTES = 32;
  /** AUTH_PROOF answer: authenticated, the connection stays as it is. */
  public static final byte PROOF_OK = 1;
  /** AUTH_PROOF answer: authenticated, and every byte after this answer is encrypted both ways. */
  public static final byte PROOF_OK_ENCRYPTED = 2;

  private Messages() {}

  /** A request as the server decodes it. */
  public sealed interface Request permits AuthChallenge, AuthProof, Locate {
    String namespace();
  }

  public record AuthChallenge(String namespace) implements Request {}

  /** @param clientNonce the client's nonce when it asks to encrypt the connection, else null */
  public record AuthProof(String namespace, byte[] mac, byte[] clientNonce) implements Request {}

  public record Locate(String namespace, List<String> blockIds) implements Request {}

  /**
   * Where a located block lives: the same bytes on every tier the server registered them on.
   *
   * @param offset where the block starts inside each descriptor's region
   * @param length the block's bytes
   * @param checksum CRC32C of the bytes, or null when the server computes none
   */
  public record Location(long offset, long length, Integer checksum, Map<Tier, RegionDescriptor> descriptors) {}

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
          yield new Locate(ns, ids);
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

  public static ByteBuffer locate(String namespace, List<String> blockIds) {
    List<byte[]> encoded = new ArrayList<>(blockIds.size());
    int size = 4;
    for (String id : blockIds) {
      byte[] e = utf8(id);
      encoded.add(e);
      size += 2 + e.length;
    }
    ByteBuffer b = message(LOCATE, namespace, size).putInt(blockIds.size());
    for (byte[] e : encoded) {
      b.putShort((short) e.length).put(e);
    }
    return b.flip();
  }

  /** Encodes the answer to a LOCATE: one entry per id asked, null for a missing block. */
  public static ByteBuffer locateAnswer(List<Location> locations) {
    int size = 4;
    for (Location l : locations) {
      size += 1 + (l == null ? 0 : 8 + 8 + 1 + 4 + 1 + l.descriptors().size() * RegionDescriptor.SERIALIZED_BYTES);
    }
    ByteBuffer b = ByteBuffer.allocate(size).putInt(locations.size());
    for (Location l : locations) {
      if (l == null) {
        b.put((byte) 0);
        continue;
      }
      b.put((byte) 1).putLong(l.offset()).putLong(l.length());
      b.put((byte) (l.checksum() == null ? 0 : 1)).putInt(l.checksum() == null ? 0 : l.checksum());
      b.put((byte) l.descriptors().size());
      l.descriptors().values().forEach(d -> d.writeTo(b));
    }
    return b.flip();
  }

  /** Decodes the answer to a LOCATE of {@code expected} ids. */
  public static List<Location> decodeLocateAnswer(ByteBuffer in, int expected) throws TransportException {
    try {
      int n = in.getInt();
      if (n != expected) {
        throw new MalformedMessageException("LOCATE answer with " + n + " entries for " + expected + " ids");
      }
      List<Location> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        if (in.get() == 0) {
          out.add(null);
          continue;
        }
        long offset = in.getLong();
        long length = in.getLong();
        boolean hasCrc = in.get() != 0;
        int crc = in.getInt();
        int k = in.get() & 0xff;
        Map<Tier, RegionDescriptor> descriptors = new EnumMap<>(Tier.class);
        for (int j = 0; j < k; j++) {
          RegionDescriptor d = RegionDescriptor.readFrom(in);
          descriptors.put(d.tier(), d);
        }
        out.add(new Location(offset, length, hasCrc ? crc : null, descriptors));
      }
      return out;
    } catch (BufferUnderflowException e) {
      throw new MalformedMessageException("truncated LOCATE answer");
    }
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
