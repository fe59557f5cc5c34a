package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vrdma.block.protocol.Messages;
import io.vrdma.block.protocol.Messages.Location;
import io.vrdma.block.protocol.SecretProof;
import io.vrdma.block.server.UnknownNamespaceException;
import io.vrdma.transport.Connection;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.testing.Patterns;
import io.vrdma.transport.testing.ShmArenas;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A request about a namespace the block server does not serve (a reader sent to an executor that never had the
 * shuffle, or one dropped meanwhile) fails that request alone, with an error answer naming the namespace; the
 * connection — which the client shares between every namespace of one secret — stays open and serves the next
 * request. The requests go over a real transport connection (loopback tcp), as the block client sends them.
 */
@Timeout(60)
class UnknownNamespaceRefusalTest {
  private static final String KNOWN = "app-1/shuffle-0";
  private static final String UNKNOWN = "app-1/shuffle-9";
  private static final byte[] SECRET = "the-app-secret".getBytes(StandardCharsets.UTF_8);
  private static final long SEED = 41;
  private static final long[] SIZES = {1000, 0, 70_001};

  @TempDir
  Path dir;

  @Test
  void withAuthenticationUnknownNamespaceFailsOnlyItsRequestsAndTheConnectionThenProvesAndLocatesAnother()
      throws Exception {
    try (BlockFixture f = fixture(true)) {
      List<String> ids = f.publish(KNOWN, "shuffle_0_0_", SEED, SIZES);
      Connection c = f.clientNode.connect("127.0.0.1", f.serverNode.advertisement().port());

      assertRefusedAsUnknown(c, Messages.authChallenge(UNKNOWN));
      assertRefusedAsUnknown(c, Messages.authProof(UNKNOWN, new byte[Messages.MAC_BYTES]));
      assertRefusedAsUnknown(c, Messages.locate(UNKNOWN, Tier.TCP, 1 << 20, List.of("shuffle_9_0_0")));
      assertTrue(c.isActive(), "the server closed the connection after refusing an unknown namespace");

      prove(c, KNOWN);
      assertLocated(f, c, ids);
      // and after the proof, an unknown namespace is still refused per request, the proven one served on
      assertRefusedAsUnknown(c, Messages.locate(UNKNOWN, Tier.TCP, 1 << 20, List.of("shuffle_9_0_0")));
      assertLocated(f, c, ids);
      c.close();
    }
  }

  @Test
  void withoutAuthenticationUnknownNamespaceLocateAnswersNotFoundAndChallengeFailsAloneOnTheSameConnection()
      throws Exception {
    try (BlockFixture f = fixture(false)) {
      List<String> ids = f.publish(KNOWN, "shuffle_0_0_", SEED, SIZES);
      Connection c = f.clientNode.connect("127.0.0.1", f.serverNode.advertisement().port());

      List<Location> unknown = Messages.decodeLocateAnswer(
          c.request(Messages.locate(UNKNOWN, Tier.TCP, 1 << 20, List.of("shuffle_9_0_0", "shuffle_9_1_0")))
              .get(10, TimeUnit.SECONDS), 2).blocks();
      assertEquals(2, unknown.size());
      unknown.forEach(l -> assertNull(l, "a block of an unknown namespace was located"));
      assertRefusedAsUnknown(c, Messages.authChallenge(UNKNOWN));
      assertTrue(c.isActive(), "the server closed the connection after refusing an unknown namespace");
      assertLocated(f, c, ids);
      c.close();
    }
  }

  @Test
  void droppedNamespaceAfterProofIsAnsweredNotFoundAndTheConnectionServesAnotherNamespace() throws Exception {
    try (BlockFixture f = fixture(true)) {
      List<String> ids = f.publish(KNOWN, "shuffle_0_0_", SEED, SIZES);
      f.server.createNamespace(UNKNOWN, SECRET);
      f.publish(UNKNOWN, "shuffle_9_0_", SEED + 1, 10, 20);
      Connection c = f.clientNode.connect("127.0.0.1", f.serverNode.advertisement().port());
      prove(c, UNKNOWN);
      prove(c, KNOWN);
      f.server.dropNamespace(UNKNOWN);

      List<Location> dropped = Messages.decodeLocateAnswer(
          c.request(Messages.locate(UNKNOWN, Tier.TCP, 1 << 20, List.of("shuffle_9_0_0"))).get(10, TimeUnit.SECONDS), 1)
          .blocks();
      assertNull(dropped.get(0), "a block of a dropped namespace was located");
      assertRefusedAsUnknown(c, Messages.authChallenge(UNKNOWN));
      assertLocated(f, c, ids);
      c.close();
    }
  }

  private BlockFixture fixture(boolean authenticate) throws Exception {
    Path arena = ShmArenas.newArenaPath(dir);
    BlockFixture f = new BlockFixture(dir, BlockFixture.settings(arena, "tcp"), BlockFixture.settings(arena, "tcp"),
        authenticate);
    f.server.createNamespace(KNOWN, authenticate ? SECRET : null);
    return f;
  }

  private static void prove(Connection c, String namespace) throws Exception {
    ByteBuffer nonceAnswer = c.request(Messages.authChallenge(namespace)).get(10, TimeUnit.SECONDS);
    byte[] nonce = new byte[nonceAnswer.remaining()];
    nonceAnswer.get(nonce);
    ByteBuffer ok = c.request(Messages.authProof(namespace, SecretProof.prove(SECRET, namespace, nonce)))
        .get(10, TimeUnit.SECONDS);
    assertEquals(Messages.PROOF_OK, ok.get(), "proof of " + namespace);
  }

  /** The request fails with the server's unknown-namespace error and the connection stays up. */
  private static void assertRefusedAsUnknown(Connection c, ByteBuffer request) throws Exception {
    try {
      c.request(request).get(10, TimeUnit.SECONDS);
      fail("a request about namespace " + UNKNOWN + " was answered");
    } catch (ExecutionException e) {
      assertTrue(e.getCause() instanceof TransportException, "failed with " + e.getCause());
      String message = String.valueOf(e.getCause().getMessage());
      assertTrue(message.contains(UnknownNamespaceException.MESSAGE_PREFIX + UNKNOWN),
          "the error does not name the unknown namespace: " + message);
    }
    assertTrue(c.isActive(), "the server closed the connection after refusing an unknown namespace");
  }

  /** Every published block of {@link #KNOWN} is located with its length, and its tcp place reads its bytes. */
  private static void assertLocated(BlockFixture f, Connection c, List<String> ids) throws Exception {
    Messages.LocateAnswer answer = Messages.decodeLocateAnswer(
        c.request(Messages.locate(KNOWN, Tier.TCP, 1 << 20, ids)).get(10, TimeUnit.SECONDS), ids.size());
    List<Location> found = answer.blocks();
    for (int i = 0; i < ids.size(); i++) {
      Location l = found.get(i);
      assertNotNull(l, "block " + ids.get(i) + " not located");
      assertFalse(l.deferred(), "block " + ids.get(i) + " deferred on tcp");
      assertEquals(SIZES[i], l.length(), "length of " + ids.get(i));
    }
    // the last block's bytes, read over the same connection: the pattern at its file offset
    int last = ids.size() - 1;
    Messages.Placement p = answer.runOf(found.get(last)).placements().get(Tier.TCP);
    try (var buffer = f.clientNode.bufferPool().acquire((int) SIZES[last])) {
      c.read(p.region(), p.offset() + found.get(last).offset(), (int) SIZES[last], buffer, 0).get(10, TimeUnit.SECONDS);
      ByteBuffer bytes = buffer.nioBuffer();
      assertNull(Patterns.mismatch(SEED, BlockFixture.offsetOf(SIZES, last), bytes, 0, (int) SIZES[last]));
    }
    assertTrue(c.isActive());
  }
}
