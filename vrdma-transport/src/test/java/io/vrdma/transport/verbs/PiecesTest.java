package io.vrdma.transport.verbs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.config.TransportConf;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PiecesTest {
  private static final long MAX = Integer.MAX_VALUE;

  @Test
  void regionsOverTwoGibAreSplitIntoPiecesThatDisniCanRegister() {
    long length = 5L << 30;
    List<Long> pieces = Pieces.split(length, MAX);
    assertEquals(3, pieces.size());
    assertEquals(List.of(MAX, MAX, length - 2 * MAX), pieces);
    assertEquals(length, pieces.stream().mapToLong(Long::longValue).sum());
    assertEquals(List.of(MAX), Pieces.split(MAX, MAX));
    assertEquals(List.of(MAX, 1L), Pieces.split(MAX + 1, MAX));
    assertEquals(List.of(), Pieces.split(0, MAX));
  }

  @Test
  void aReadAcrossAPieceBoundaryBecomesOnePartPerPiece() {
    long piece = 4L << 20;
    assertEquals(List.of(new Pieces.Span(0, piece - 3, 0, 3), new Pieces.Span(1, 0, 3, 97)),
        Pieces.spans(piece - 3, 100, piece));
    assertEquals(List.of(new Pieces.Span(2, 5, 0, 100)), Pieces.spans(2 * piece + 5, 100, piece));
    // a read longer than a piece spans three
    List<Pieces.Span> spans = Pieces.spans(piece / 2, (int) (2 * piece), piece);
    assertEquals(3, spans.size());
    assertEquals(2 * piece, spans.stream().mapToLong(Pieces.Span::length).sum());
    assertEquals(new Pieces.Span(2, 0, (int) (piece * 3 / 2), (int) (piece / 2)), spans.get(2));
  }

  @Test
  void pieceTablesRoundTripAndMustCoverTheirRegion() throws Exception {
    Pieces.Table t = new Pieces.Table(MAX, List.of(new Pieces.Piece(0x7f0000001000L, 0x1234),
        new Pieces.Piece(0x7f1000000000L, 0xabcdef01), new Pieces.Piece(0x7f2000000000L, 7)));
    ByteBuffer bytes = t.encode(ByteBuffer.allocate(t.encodedBytes())).flip();
    long[] header = Pieces.decodeHeader(bytes);
    assertEquals(MAX, header[0]);
    assertEquals(3, header[1]);
    assertEquals(t.pieces(), Pieces.decodeEntries(bytes, 3));
    t.checkCovers(5L << 30);
    assertThrows(InvalidDescriptorException.class, () -> t.checkCovers(7L << 30), "too few pieces");
    assertThrows(InvalidDescriptorException.class, () -> t.checkCovers(MAX), "too many pieces");
    ByteBuffer forged = ByteBuffer.allocate(16).putLong(4096).putInt(-1).putInt(0).flip();
    assertThrows(InvalidDescriptorException.class, () -> Pieces.decodeHeader(forged));
  }

  @Test
  void verbsSettingsAreCheckedWithTheKeyInTheMessage() {
    TransportConf conf = TransportConf.defaults();
    assertEquals("channel", conf.get(TransportConf.VERBS_COMPLETION));
    assertEquals(1L << 30, conf.get(TransportConf.VERBS_PIECE_BYTES));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TransportConf.fromMap(Map.of(TransportConf.VERBS_COMPLETION.name(), "spin")));
    assertEquals("vrdma.transport.verbs.completion = spin must be 'channel' or 'poll'", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> TransportConf.fromMap(Map.of(TransportConf.VERBS_PIECE_BYTES.name(), "2g")));
    assertEquals("vrdma.transport.verbs.maxPieceBytes = 2147483648 must be between 4096 and 2147483647 (2 GiB - 1)",
        e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> TransportConf.fromMap(Map.of(TransportConf.VERBS_READS_IN_FLIGHT.name(), "0")));
  }
}
