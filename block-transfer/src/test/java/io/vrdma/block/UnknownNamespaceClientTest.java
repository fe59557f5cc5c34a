package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockException.BlockNotFoundException;
import io.vrdma.block.server.UnknownNamespaceException;
import io.vrdma.transport.testing.ShmArenas;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The block client, sent to a peer that does not serve the namespace (a reader pointed at the wrong executor, or a
 * shuffle dropped meanwhile), does not retry: every block of the call fails at once, in one call to the listener (so
 * the engine's own client gets them together), and the shared connection then serves a namespace the peer has.
 */
@Timeout(60)
class UnknownNamespaceClientTest {
  private static final String KNOWN = "app-1/shuffle-0";
  private static final String UNKNOWN = "app-1/shuffle-9";
  private static final byte[] SECRET = "the-app-secret".getBytes(StandardCharsets.UTF_8);
  private static final List<String> UNKNOWN_IDS = List.of("shuffle_9_0_0", "shuffle_9_0_1", "shuffle_9_1_0",
      "shuffle_9_1_1", "shuffle_9_2_0");

  @TempDir
  Path dir;

  /** Records the listener's calls: single failures and group failures apart. */
  private static final class Failures extends Collector {
    final List<List<String>> groups = new CopyOnWriteArrayList<>();
    final List<Throwable> causes = new CopyOnWriteArrayList<>();

    @Override
    public void onBlocksFailed(List<String> blockIds, Throwable cause) {
      groups.add(List.copyOf(blockIds));
      causes.add(cause);
    }
  }

  @Test
  void withAuthenticationTheRefusedNamespaceFailsEveryBlockInOneCallWithoutRetries() throws Exception {
    try (BlockFixture f = fixture(true)) {
      Failures listener = fetchUnknown(f, SECRET);
      assertTrue(listener.causes.get(0) instanceof UnknownNamespaceException,
          "failed with " + listener.causes.get(0) + ", not as an unknown namespace");
      assertTrue(listener.causes.get(0).getMessage().contains(UNKNOWN), listener.causes.get(0).getMessage());
      assertKnownStillServed(f, SECRET);
    }
  }

  @Test
  void withoutAuthenticationBlocksOfAnUnknownNamespaceFailInOneCallWithoutRetries() throws Exception {
    try (BlockFixture f = fixture(false)) {
      Failures listener = fetchUnknown(f, null);
      assertTrue(listener.causes.get(0) instanceof BlockNotFoundException,
          "failed with " + listener.causes.get(0) + ", not as blocks not found");
      assertKnownStillServed(f, null);
    }
  }

  private BlockFixture fixture(boolean authenticate) throws Exception {
    Path arena = ShmArenas.newArenaPath(dir);
    Map<String, String> settings = BlockFixture.settings(arena, "tcp");
    // a long wait before each retry: a retried call would take seconds, and show in the retry counter
    settings.put(BlockConf.RETRY_WAIT.name(), "2s");
    BlockFixture f = new BlockFixture(dir, settings, settings, authenticate);
    f.server.createNamespace(KNOWN, authenticate ? SECRET : null);
    f.publish(KNOWN, "shuffle_0_0_", 7, 1000, 0, 5000);
    return f;
  }

  /** Fetches blocks of {@link #UNKNOWN}: one group failure holding every id, no single failure, no retry. */
  private static Failures fetchUnknown(BlockFixture f, byte[] secret) throws Exception {
    Failures listener = new Failures();
    long started = System.nanoTime();
    f.client.fetch("127.0.0.1", f.serverNode.advertisement().port(), UNKNOWN, secret, UNKNOWN_IDS, listener)
        .get(30, TimeUnit.SECONDS);
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertEquals(List.of(UNKNOWN_IDS), listener.groups, "not one call with every block: " + listener.groups);
    assertTrue(listener.failures.isEmpty(), "blocks failed one by one: " + listener.failures.keySet());
    assertEquals(0, f.client.metrics().retries(), "the client retried a namespace the peer does not serve");
    assertTrue(millis < 2000, "the failure took " + millis + " ms: a retry wait elapsed");
    return listener;
  }

  /** The same client (and its connection to the peer) reads the namespace the peer serves. */
  private static void assertKnownStillServed(BlockFixture f, byte[] secret) throws Exception {
    Collector known = new Collector();
    List<String> ids = List.of("shuffle_0_0_0", "shuffle_0_0_1", "shuffle_0_0_2");
    f.client.fetch("127.0.0.1", f.serverNode.advertisement().port(), KNOWN, secret, ids, known)
        .get(30, TimeUnit.SECONDS);
    assertTrue(known.failures.isEmpty(), "the known namespace failed: " + known.failures);
    assertEquals(1000, known.blocks.get("shuffle_0_0_0").remaining());
    assertEquals(0, known.blocks.get("shuffle_0_0_1").remaining());
    assertEquals(5000, known.blocks.get("shuffle_0_0_2").remaining());
  }
}
