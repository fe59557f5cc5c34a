package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.protocol.Messages;
import io.vrdma.block.protocol.Messages.LocateAnswer;
import io.vrdma.block.protocol.Messages.Location;
import io.vrdma.block.protocol.Messages.Run;
import io.vrdma.block.BlockException.MalformedMessageException;
import io.vrdma.transport.Connection;
import io.vrdma.transport.Tier;
import io.vrdma.transport.testing.Patterns;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A large block served in place is located before its checksum is known; the checksum follows (CHECKSUMS) and the
 * reader still checks every byte before delivering it.
 */
class ChecksumsFollowTest {
  @TempDir
  Path dir;

  @Test
  void aLocationSaysWhetherItsChecksumIsGivenFollowsOrNone() throws Exception {
    LocateAnswer answer = new LocateAnswer(List.of(new Run(0, 300, Map.of())), List.of(
        new Location(0, 0, 100, 7), new Location(0, 100, 100, null, true), new Location(0, 200, 100, null)));
    List<Location> decoded = Messages.decodeLocateAnswer(Messages.locateAnswer(answer), 3).blocks();
    assertEquals(7, decoded.get(0).checksum());
    assertFalse(decoded.get(0).checksumFollows());
    assertTrue(decoded.get(1).checksumFollows());
    assertNull(decoded.get(1).checksum());
    assertFalse(decoded.get(2).checksumFollows());
    assertNull(decoded.get(2).checksum());
    assertEquals(new Location(0, 100, 100, 9), decoded.get(1).withChecksum(9));
  }

  @Test
  void checksumsTravelAndMalformedAnswersAreRefused() throws Exception {
    assertArrayEquals(new Integer[] {5, null, -3},
        Messages.decodeChecksumsAnswer(Messages.checksumsAnswer(new Integer[] {5, null, -3}), 3));
    assertThrows(MalformedMessageException.class,
        () -> Messages.decodeChecksumsAnswer(Messages.checksumsAnswer(new Integer[] {5}), 2));
    ByteBuffer bad = ByteBuffer.allocate(9).putInt(1).put((byte) 7).putInt(0).flip();
    assertThrows(MalformedMessageException.class, () -> Messages.decodeChecksumsAnswer(bad, 1));
    Messages.Request request = Messages.decodeRequest(Messages.checksums("ns", List.of("a", "b")));
    assertEquals(new Messages.Checksums("ns", List.of("a", "b")), request);
  }

  @Test
  void aLargeBlockOverTcpIsLocatedAtOnceAndDeliveredOnlyAfterItsFollowingChecksumMatched() throws Exception {
    long[] sizes = {1_000_000, 2_000_000, 1000};
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, Map.of())) {
      f.server.createNamespace("ns", null);
      List<String> ids = f.publish("ns", "big", 5, sizes);
      Connection c = f.clientNode.connect("127.0.0.1", f.serverNode.advertisement().port());
      // one at a time, so that each is a run of its own
      for (int i = 0; i < ids.size(); i++) {
        Location l = Messages.decodeLocateAnswer(c.request(Messages.locate("ns", Tier.TCP, 0, List.of(ids.get(i))))
            .get(10, TimeUnit.SECONDS), 1).blocks().get(0);
        boolean large = sizes[i] >= 256 * 1024;
        assertEquals(large, l.checksumFollows(), ids.get(i));
        assertEquals(!large, l.checksum() != null, ids.get(i));
      }
      Integer[] crcs = Messages.decodeChecksumsAnswer(c.request(Messages.checksums("ns",
          List.of(ids.get(0), ids.get(1), "nothing"))).get(10, TimeUnit.SECONDS), 3);
      for (int i = 0; i < 2; i++) {
        byte[] expected = new byte[(int) sizes[i]];
        for (int k = 0; k < expected.length; k++) {
          expected[k] = Patterns.byteAt(5, BlockFixture.offsetOf(sizes, i) + k);
        }
        CRC32C crc = new CRC32C();
        crc.update(expected);
        assertEquals((int) crc.getValue(), crcs[i], ids.get(i));
      }
      assertNull(crcs[2], "a block not published has no checksum");
      c.close();

      Collector got = f.fetchAll("ns", ids);
      assertTrue(got.failures.isEmpty(), () -> "failures: " + got.failures);
      for (int i = 0; i < ids.size(); i++) {
        ByteBuffer bytes = got.blocks.get(ids.get(i));
        assertEquals(sizes[i], bytes.remaining());
        assertNull(Patterns.mismatch(5, BlockFixture.offsetOf(sizes, i), bytes, 0, (int) sizes[i]));
      }
    }
  }
}
