package io.vrdma.transport.verbs;

import io.vrdma.transport.TransportException.InvalidDescriptorException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * How a region longer than one memory registration may be (DiSNI registers at most 2 GiB - 1 bytes at
 * once, its length being an {@code int}) is cut into pieces, each registered on its own with its own
 * address and rkey, and how a read of the region maps onto those pieces.
 *
 * <p>A region of one piece is described to peers by that piece's address and rkey. A region of several
 * pieces is described by a small registered <em>piece table</em> that the reader fetches once with an
 * RDMA READ: {@code [piece bytes: long][count: int][0: int]} and then per piece
 * {@code [address: long][rkey: int][0: int]}. Its descriptor carries the table's address, and its key the
 * table's rkey with {@link #TABLE_FLAG} set, so the reader knows which form it holds.
 */
public final class Pieces {
  /** Set in a descriptor's key when its address is that of a piece table. */
  public static final long TABLE_FLAG = 1L << 32;
  /** Bytes of the table header. */
  public static final int HEADER_BYTES = 16;
  /** Bytes of one table entry. */
  public static final int ENTRY_BYTES = 16;
  /** More pieces than this in a table is taken as a forged descriptor. */
  static final int MAX_PIECES = 1 << 20;

  private Pieces() {}

  /**
   * The lengths of the pieces of a region: as many of {@code maxPiece} bytes as fit, then the rest.
   * An empty region has no piece.
   */
  public static List<Long> split(long length, long maxPiece) {
    if (length < 0 || maxPiece <= 0) {
      throw new IllegalArgumentException("cannot split " + length + " bytes into pieces of " + maxPiece);
    }
    List<Long> out = new ArrayList<>();
    for (long at = 0; at < length; at += maxPiece) {
      out.add(Math.min(maxPiece, length - at));
    }
    return out;
  }

  /**
   * One contiguous part of a read that falls in one piece.
   *
   * @param piece index of the piece
   * @param offsetInPiece where the part starts in the piece
   * @param dstOffset where its bytes go, relative to the read's destination offset
   * @param length bytes of the part
   */
  public record Span(int piece, long offsetInPiece, int dstOffset, int length) {}

  /** The parts of a read of [{@code offset}, +{@code length}) of a region cut into pieces of {@code pieceBytes}. */
  public static List<Span> spans(long offset, int length, long pieceBytes) {
    List<Span> out = new ArrayList<>();
    long at = offset;
    int done = 0;
    while (done < length) {
      int piece = (int) (at / pieceBytes);
      long inPiece = at % pieceBytes;
      int n = (int) Math.min(length - done, pieceBytes - inPiece);
      out.add(new Span(piece, inPiece, done, n));
      at += n;
      done += n;
    }
    return out;
  }

  /** A piece as the reader needs it. */
  public record Piece(long address, int rkey) {}

  /**
   * A region's piece table as read from its owner.
   *
   * @param pieceBytes bytes of every piece but the last
   * @param pieces the pieces in order
   */
  public record Table(long pieceBytes, List<Piece> pieces) {
    /** The bytes of a table, as the owner registers it. */
    public ByteBuffer encode(ByteBuffer out) {
      out.putLong(pieceBytes).putInt(pieces.size()).putInt(0);
      for (Piece p : pieces) {
        out.putLong(p.address()).putInt(p.rkey()).putInt(0);
      }
      return out;
    }

    /** Bytes of the encoded table. */
    public int encodedBytes() {
      return HEADER_BYTES + ENTRY_BYTES * pieces.size();
    }

    /** Checks that the table covers a region of {@code length} bytes. */
    void checkCovers(long length) throws InvalidDescriptorException {
      if (pieceBytes <= 0 || pieces.isEmpty() || pieceBytes * pieces.size() < length
          || pieceBytes * (pieces.size() - 1) >= length) {
        throw new InvalidDescriptorException("piece table of " + pieces.size() + " pieces of " + pieceBytes
            + " bytes does not describe a region of " + length + " bytes");
      }
    }
  }

  /** Reads a table header: piece bytes and count, validated. */
  static long[] decodeHeader(ByteBuffer in) throws InvalidDescriptorException {
    long pieceBytes = in.getLong();
    int count = in.getInt();
    in.getInt();
    if (pieceBytes <= 0 || pieceBytes > Integer.MAX_VALUE || count <= 0 || count > MAX_PIECES) {
      throw new InvalidDescriptorException("malformed piece table: " + count + " pieces of " + pieceBytes + " bytes");
    }
    return new long[] {pieceBytes, count};
  }

  /** Reads {@code count} table entries. */
  static List<Piece> decodeEntries(ByteBuffer in, int count) {
    List<Piece> pieces = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      long address = in.getLong();
      int rkey = in.getInt();
      in.getInt();
      pieces.add(new Piece(address, rkey));
    }
    return pieces;
  }
}
