package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.block.BlockException.AuthenticationException;
import io.vrdma.block.BlockException.BlockNotFoundException;
import io.vrdma.block.BlockException.CorruptBlockException;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.shm.ShmTier;
import io.vrdma.transport.testing.Patterns;
import io.vrdma.transport.testing.ShmArenas;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Blocks fetched over real sockets and real shared memory, from real files, under faults and attacks. */
@Timeout(120)
class BlockTransferTest {
  private static final String NS = "app-1/shuffle-0";

  @TempDir
  Path dir;

  private static void assertBlocks(Collector c, long seed, long[] sizes, List<String> ids) {
    assertTrue(c.failures.isEmpty(), () -> "failures: " + c.failures);
    assertTrue(c.eachReportedOnce(ids.size()), () -> "reports: " + c.calls);
    for (int i = 0; i < ids.size(); i++) {
      var bytes = c.blocks.get(ids.get(i));
      assertEquals(sizes[i], bytes.remaining(), ids.get(i));
      assertNull(Patterns.mismatch(seed, BlockFixture.offsetOf(sizes, i), bytes, 0, (int) sizes[i]), ids.get(i));
    }
  }

  private static CompletableFuture<Void> fetch(BlockFixture f, String ns, byte[] secret, List<String> ids,
      BlockFetchListener listener) {
    return f.client.fetch("127.0.0.1", f.serverNode.advertisement().port(), ns, secret, ids, listener);
  }

  @ParameterizedTest
  @EnumSource(value = Tier.class, names = {"SHM", "TCP"})
  void fetchesBlocksOfMixedSizesIntact(Tier tier) throws Exception {
    long[] sizes = {0, 1, 4096, 1 << 20, (65L << 20) + 17, 3, 0, 70_001};
    try (BlockFixture f = BlockFixture.forTier(dir, tier, Map.of())) {
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "b", 42, sizes);
      Collector c = new Collector();
      fetch(f, NS, null, ids, c).get(60, TimeUnit.SECONDS);
      assertBlocks(c, 42, sizes, ids);
      long total = java.util.Arrays.stream(sizes).sum();
      assertEquals(total, f.client.metrics().bytes(tier), f.client.metrics().toString());
      assertEquals(0, f.client.bytesInFlight());
    }
  }

  @ParameterizedTest
  @EnumSource(value = Tier.class, names = {"SHM", "TCP"})
  void listenerSeesTheTierOfTheBlockItIsHanded(Tier tier) throws Exception {
    long[] sizes = {0, 17, 70_001, 4096};
    try (BlockFixture f = BlockFixture.forTier(dir, tier, Map.of())) {
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "t", 7, sizes);
      Map<String, Tier> seen = new java.util.concurrent.ConcurrentHashMap<>();
      Collector c = new Collector() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          Tier delivering = f.client.metrics().deliveringTier();
          if (delivering != null) {
            seen.put(blockId, delivering);
          }
          super.onBlockFetchSuccess(blockId, block);
        }
      };
      fetch(f, NS, null, ids, c).get(60, TimeUnit.SECONDS);
      assertBlocks(c, 7, sizes, ids);
      Map<String, Tier> expected = new java.util.HashMap<>();
      ids.forEach(id -> expected.put(id, tier));
      assertEquals(expected, seen);
    }
  }

  @ParameterizedTest
  @EnumSource(value = Tier.class, names = {"SHM", "TCP"})
  void concurrentFetchesUnderTightFlowControlAllComplete(Tier tier) throws Exception {
    Map<String, String> tight = Map.of(BlockConf.MAX_BYTES_IN_FLIGHT.name(), "256k",
        BlockConf.MAX_BYTES_IN_FLIGHT_PER_PEER.name(), "128k", BlockConf.MAX_REQUESTS_IN_FLIGHT_PER_PEER.name(), "8",
        BlockConf.LOCATE_BATCH.name(), "50");
    try (BlockFixture f = BlockFixture.forTier(dir, tier, tight)) {
      f.server.createNamespace(NS, null);
      int files = 4;
      List<CompletableFuture<Void>> all = new ArrayList<>();
      List<Collector> collectors = new ArrayList<>();
      List<List<String>> idLists = new ArrayList<>();
      List<long[]> sizeLists = new ArrayList<>();
      for (int k = 0; k < files; k++) {
        long[] sizes = new long[150];
        for (int i = 0; i < sizes.length; i++) {
          sizes[i] = 1 + (i * 7919L + k * 131L) % 65_536;
        }
        sizes[7] = 300_000; // larger than the per-peer bound: fetched alone
        sizeLists.add(sizes);
        idLists.add(f.publish(NS, "f" + k + "-", 100 + k, sizes));
      }
      for (int k = 0; k < files; k++) {
        Collector c = new Collector();
        collectors.add(c);
        all.add(fetch(f, NS, null, idLists.get(k), c));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      for (int k = 0; k < files; k++) {
        assertBlocks(collectors.get(k), 100 + k, sizeLists.get(k), idLists.get(k));
      }
    }
  }

  @Test
  void missingBlockIsReportedNotFound() throws Exception {
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, Map.of())) {
      f.server.createNamespace(NS, null);
      List<String> ids = new ArrayList<>(f.publish(NS, "b", 1, 10));
      ids.add("no-such-block");
      Collector c = new Collector();
      fetch(f, NS, null, ids, c).get(30, TimeUnit.SECONDS);
      assertInstanceOf(BlockNotFoundException.class, c.failures.get("no-such-block"));
      assertEquals(1, c.blocks.size());
    }
  }

  /** What a reader gets from a block it holds across the drop of its namespace: its bytes or its failure. */
  private static Object readAfterDrop(boolean inPlace, Path dir) throws Exception {
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.SHM, Map.of(BlockConf.SHM_IN_PLACE.name(),
        Boolean.toString(inPlace)))) {
      f.server.createNamespace(NS, null);
      long[] sizes = {300_000, 5_000};
      List<String> ids = f.publish(NS, "b", 9, sizes);
      Map<String, FetchedBlock> held = new java.util.concurrent.ConcurrentHashMap<>();
      fetch(f, NS, null, ids, new BlockFetchListener() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          held.put(blockId, block);
        }

        @Override
        public void onBlockFetchFailure(String blockId, Throwable cause) {
          throw new AssertionError(blockId + " failed", cause);
        }
      }).get(30, TimeUnit.SECONDS);
      assertEquals(305_000L, f.client.metrics().bytes(Tier.SHM));
      f.server.dropNamespace(NS);
      try (FetchedBlock block = held.get("b0"); var in = block.createInputStream()) {
        byte[] bytes = in.readAllBytes();
        assertNull(Patterns.mismatch(9, 0, java.nio.ByteBuffer.wrap(bytes), 0, 300_000));
        return bytes;
      } catch (java.io.IOException e) {
        return e;
      } finally {
        held.get("b1").release();
      }
    }
  }

  @Test
  void aBlockReadInPlaceWhoseRegionIsFreedMeanwhileFailsAtItsEndInsteadOfPassingOffOtherBytes() throws Exception {
    Object inPlace = readAfterDrop(true, dir);
    assertInstanceOf(java.io.IOException.class, inPlace, "an in-place block outlived its region unnoticed");
    assertTrue(((Exception) inPlace).getMessage().contains("changed while it was read in place"),
        ((Exception) inPlace).getMessage());
    // copied blocks are the reader's own: the same drop leaves them whole
    assertInstanceOf(byte[].class, readAfterDrop(false, dir));
  }

  @Test
  void droppingANamespaceWhileFetchingFailsItsBlocksCleanlyAndFreesTheArena() throws Exception {
    Map<String, String> slow = Map.of(TransportConf.FAULT_TIER.name(), "shm", TransportConf.FAULT_DELAY.name(), "5ms",
        BlockConf.MAX_REQUESTS_IN_FLIGHT_PER_PEER.name(), "2");
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.SHM, slow)) {
      ShmTier shm = (ShmTier) f.serverNode.provider(Tier.SHM);
      int freeBefore = shm.arena().freeChunks();
      f.server.createNamespace(NS, null);
      long[] sizes = new long[200];
      java.util.Arrays.fill(sizes, 128 << 10);
      List<String> ids = f.publish(NS, "b", 5, sizes);
      assertEquals(freeBefore, shm.arena().freeChunks(), "publishing copies nothing: blocks are staged when asked for");
      CountDownLatch firstArrived = new CountDownLatch(1);
      Collector c = new Collector() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          super.onBlockFetchSuccess(blockId, block);
          firstArrived.countDown();
        }
      };
      CompletableFuture<Void> done = fetch(f, NS, null, ids, c);
      assertTrue(firstArrived.await(30, TimeUnit.SECONDS));
      f.server.dropNamespace(NS);
      done.get(60, TimeUnit.SECONDS);
      assertTrue(c.eachReportedOnce(ids.size()), "every block reported once");
      assertTrue(!c.failures.isEmpty(), "blocks asked after the drop cannot arrive");
      // a block asked after the drop is not found; one whose run was being read in place when the drop took the
      // run's lease back is caught by its end check (never delivered with someone else's bytes)
      c.failures.values().forEach(e -> assertTrue(e instanceof BlockNotFoundException
          || e.getMessage() != null && e.getMessage().contains("changed while it was read in place"), e.toString()));
      c.blocks.forEach((id, bytes) -> assertNull(Patterns.mismatch(5, Long.parseLong(id.substring(1)) * (128 << 10),
          bytes, 0, 128 << 10), "a delivered block is intact"));
      assertEquals(freeBefore, shm.arena().freeChunks(), "the dropped namespace's arena space is free again");
    }
  }

  @Test
  void failingShmReadsFallBackToTcpWithoutTheCallerNoticing() throws Exception {
    // one read per block, so that every other block's read fails
    Map<String, String> faulty = Map.of(TransportConf.FAULT_TIER.name(), "shm", TransportConf.FAULT_FAIL_EVERY.name(), "2",
        BlockConf.CLIENT_MAX_RUN_BYTES.name(), "0");
    long[] sizes = new long[40];
    java.util.Arrays.fill(sizes, 50_000);
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.SHM, faulty)) {
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "b", 9, sizes);
      Collector c = new Collector();
      fetch(f, NS, null, ids, c).get(60, TimeUnit.SECONDS);
      assertBlocks(c, 9, sizes, ids);
      assertEquals(20, f.client.metrics().fallbacks(), f.client.metrics().toString());
      assertEquals(20, f.client.metrics().blocks(Tier.TCP));
      assertEquals(20, f.client.metrics().blocks(Tier.SHM));
    }
  }

  @Test
  void corruptBlocksAreNeverDeliveredAndARefetchRepairsAOneOffCorruption() throws Exception {
    // the two large ones are answered before the server knows their checksums, which follow the read
    long[] sizes = {10_000, 20_000, 300_000, 1_500_000};
    // one read per block: the fault corrupts one byte of each read
    Map<String, String> alwaysCorrupt = Map.of(TransportConf.FAULT_TIER.name(), "tcp",
        TransportConf.FAULT_CORRUPT_EVERY.name(), "1", BlockConf.CLIENT_MAX_RUN_BYTES.name(), "0");
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, alwaysCorrupt)) {
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "b", 3, sizes);
      Collector c = new Collector();
      fetch(f, NS, null, ids, c).get(60, TimeUnit.SECONDS);
      assertTrue(c.blocks.isEmpty(), "no corrupt block is delivered");
      ids.forEach(id -> assertInstanceOf(CorruptBlockException.class, c.failures.get(id)));
      assertEquals(4, f.client.metrics().corruptRefetches());
    }
    // reads one at a time: the third (b2) is corrupt, the refetch of b2 is the fifth and intact
    Map<String, String> everyOther = Map.of(TransportConf.FAULT_TIER.name(), "tcp",
        TransportConf.FAULT_CORRUPT_EVERY.name(), "3", BlockConf.MAX_REQUESTS_IN_FLIGHT.name(), "1",
        BlockConf.CLIENT_MAX_RUN_BYTES.name(), "0");
    try (BlockFixture f = BlockFixture.forTier(dir, Tier.TCP, everyOther)) {
      f.server.createNamespace(NS, null);
      List<String> ids = f.publish(NS, "b", 3, sizes);
      Collector c = new Collector();
      fetch(f, NS, null, ids, c).get(60, TimeUnit.SECONDS);
      assertBlocks(c, 3, sizes, ids);
      assertTrue(f.client.metrics().corruptRefetches() > 0);
    }
  }

  @Test
  void authenticatedServerServesTheRightSecretOnlyAndOnlyItsNamespace() throws Exception {
    byte[] secret = "s3cret-app-1".getBytes(StandardCharsets.UTF_8);
    byte[] other = "s3cret-app-2".getBytes(StandardCharsets.UTF_8);
    Path arena = ShmArenas.newArenaPath(dir);
    Map<String, String> s = BlockFixture.settings(arena, "shm,tcp");
    try (BlockFixture f = new BlockFixture(dir, s, s, true)) {
      f.server.createNamespace(NS, secret);
      f.server.createNamespace("app-2", other);
      long[] sizes = {1000, 2000};
      List<String> ids = f.publish(NS, "b", 4, sizes);

      Collector good = new Collector();
      fetch(f, NS, secret, ids, good).get(30, TimeUnit.SECONDS);
      assertBlocks(good, 4, sizes, ids);

      Collector wrong = new Collector();
      fetch(f, NS, "guess".getBytes(StandardCharsets.UTF_8), ids, wrong).get(30, TimeUnit.SECONDS);
      assertTrue(wrong.blocks.isEmpty());
      ids.forEach(id -> assertInstanceOf(AuthenticationException.class, wrong.failures.get(id)));

      Collector none = new Collector();
      fetch(f, NS, null, ids, none).get(30, TimeUnit.SECONDS);
      assertTrue(none.blocks.isEmpty(), "no secret, no block");

      Collector crossNamespace = new Collector();
      fetch(f, NS, other, ids, crossNamespace).get(30, TimeUnit.SECONDS);
      assertTrue(crossNamespace.blocks.isEmpty(), "the secret of another namespace opens nothing here");

      Collector again = new Collector();
      fetch(f, NS, secret, ids, again).get(30, TimeUnit.SECONDS);
      assertBlocks(again, 4, sizes, ids);
    }
  }
}
