package io.vrdma.transport.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.RegionNotFoundException;
import io.vrdma.transport.TransportException.ResourceFullException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(20)
class SharedArenaTest {
  static final int CHUNK = 4096;
  static final long MIB = 1 << 20;

  @TempDir
  Path dir;

  private Path arenaFile() {
    return dir.resolve("arena");
  }

  private SharedArena attach(long bytes) throws TransportException {
    return SharedArena.attach(arenaFile(), bytes, CHUNK, 8, 100, 5_000);
  }

  @AfterEach
  void noHeartbeatThreadOutlivesItsArena() {
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      assertFalse(t.getName().equals("vrdma-shm-heartbeat") && t.isAlive(), "heartbeat thread left running");
    }
  }

  static byte[] pattern(long seed, int length) {
    byte[] bytes = new byte[length];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  static byte[] read(SharedArena arena, ArenaRegion r) throws TransportException {
    ByteBuffer dst = ByteBuffer.allocate((int) r.length());
    arena.copyOut(r.owner(), r.address(), r.key(), r.length(), 0, (int) r.length(), dst, 0);
    return dst.array();
  }

  static ArenaRegion publish(SharedArena arena, long length, long seed) throws TransportException {
    ArenaRegion r = arena.allocate(length);
    r.writableBuffer().put(pattern(seed, (int) length));
    r.publish();
    return r;
  }

  /** Bytes the file system has given the file (st_blocks), which a sparse file's holes do not count. */
  static long allocatedBytes(Path file) throws Exception {
    Process p = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
    String[] out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim()
        .split(" ");
    assertEquals(0, p.waitFor(), String.join(" ", out));
    return Long.parseLong(out[0]) * Long.parseLong(out[1]);
  }

  @Test
  void theCreatorKnowsItAndPreallocateBacksTheWholeDataAreaWithoutChangingABytePublished() throws Exception {
    Path shm = Path.of("/dev/shm");
    assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm),
        "skipped: no writable /dev/shm, and only tmpfs allocates pages on a read of a hole");
    Path file = shm.resolve("vrdma-test-prealloc-" + java.util.UUID.randomUUID());
    try (SharedArena arena = SharedArena.attach(file, 8 * MIB, CHUNK, 8, 100, 5_000)) {
      ArenaRegion region = publish(arena, 3 * CHUNK + 17, 42);
      assertTrue(allocatedBytes(file) < 2 * MIB, "a new arena file is sparse: " + allocatedBytes(file));

      assertTrue(arena.createdHere(), "the first attach creates the file");
      try (SharedArena second = SharedArena.attach(file, 8 * MIB, CHUNK, 8, 100, 5_000)) {
        assertFalse(second.createdHere(), "a later attach finds the file");
      }

      long dataBytes = (long) arena.chunkCount() * arena.chunkBytes();
      assertEquals(dataBytes, arena.preallocate());
      assertTrue(allocatedBytes(file) >= dataBytes, allocatedBytes(file) + " bytes backed, data area " + dataBytes);
      assertArrayEquals(pattern(42, 3 * CHUNK + 17), read(arena, region));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Test
  void newArenaFileIsCreatedOwnerOnlyWithTheAskedSize() throws Exception {
    try (SharedArena arena = attach(MIB)) {
      assertEquals(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
          Files.getPosixFilePermissions(arenaFile()));
      assertEquals(MIB, Files.size(arenaFile()));
      assertEquals(MIB, arena.sizeBytes());
      assertEquals(CHUNK, arena.chunkBytes());
      assertTrue(arena.chunkCount() > 200, "chunks: " + arena.chunkCount());
      assertEquals(arena.chunkCount(), arena.freeChunks());
      assertNotEquals(0, arena.token());
      assertEquals(arenaFile(), arena.path());
    }
    // Closing never deletes: the file may be a BAR, and other processes may still use it.
    assertTrue(Files.exists(arenaFile()));
  }

  @Test
  void publishedRegionReadsBackWhatItsOwnerWrote() throws Exception {
    try (SharedArena owner = attach(MIB); SharedArena reader = attach(MIB)) {
      assertEquals(owner.arenaId(), reader.arenaId());
      assertNotEquals(owner.token(), reader.token());
      try (ArenaRegion r = publish(owner, 3 * CHUNK + 123, 7)) {
        assertEquals(owner.token(), r.owner());
        assertNotEquals(0, r.key());
        assertEquals(0, (r.address() - (owner.sizeBytes() - (long) owner.chunkCount() * CHUNK)) % CHUNK);
        assertArrayEquals(pattern(7, 3 * CHUNK + 123), read(reader, r));

        // A part of it, into the middle of a larger buffer, across a chunk boundary.
        ByteBuffer dst = ByteBuffer.allocate(10_000);
        reader.copyOut(r.owner(), r.address(), r.key(), r.length(), CHUNK - 10, 5000, dst, 100);
        byte[] expected = new byte[5000];
        System.arraycopy(pattern(7, 3 * CHUNK + 123), CHUNK - 10, expected, 0, 5000);
        byte[] got = new byte[5000];
        dst.get(100, got);
        assertArrayEquals(expected, got);
        assertEquals(0, dst.position());

        ByteBuffer view = reader.readOnlySlice(r.owner(), r.address(), r.key(), r.length(), 5, 20);
        assertTrue(view.isReadOnly());
        assertEquals(20, view.remaining());
        byte[] viewed = new byte[20];
        view.get(viewed);
        byte[] expectedView = new byte[20];
        System.arraycopy(pattern(7, 3 * CHUNK + 123), 5, expectedView, 0, 20);
        assertArrayEquals(expectedView, viewed);

        reader.copyOut(r.owner(), r.address(), r.key(), r.length(), r.length(), 0, ByteBuffer.allocate(0), 0);
      }
    }
  }

  @Test
  void unpublishedAndFreedRegionsAreNotFound() throws Exception {
    try (SharedArena arena = attach(MIB)) {
      ArenaRegion r = arena.allocate(100);
      r.writableBuffer().put(pattern(1, 100));
      assertThrows(RegionNotFoundException.class, () -> read(arena, r));
      assertThrows(RegionNotFoundException.class,
          () -> arena.readOnlySlice(r.owner(), r.address(), r.key(), r.length(), 0, 100));
      r.publish();
      read(arena, r);
      assertThrows(RegionNotFoundException.class,
          () -> arena.copyOut(r.owner(), r.address(), r.key() + 1, 100, 0, 100, ByteBuffer.allocate(100), 0));
      r.close();
      r.close();
      RegionNotFoundException e = assertThrows(RegionNotFoundException.class, () -> read(arena, r));
      assertTrue(e.getMessage().contains("region freed or never published"), e.getMessage());
      assertEquals(arena.chunkCount(), arena.freeChunks());

      // Chunks reused by a new region of the same owner: the old key still fails. The search rotates,
      // so fill the arena until the freed chunk comes round again.
      List<ArenaRegion> filler = new ArrayList<>();
      ArenaRegion again = null;
      while (again == null) {
        ArenaRegion next = publish(arena, 100, 2);
        if (next.address() == r.address()) {
          again = next;
        } else {
          filler.add(next);
        }
      }
      assertThrows(RegionNotFoundException.class, () -> read(arena, r));
      assertArrayEquals(pattern(2, 100), read(arena, again));
      again.close();
      filler.forEach(ArenaRegion::close);
    }
  }

  @Test
  void descriptorsOutsideTheArenaMisalignedOrOfAnotherOwnerAreInvalid() throws Exception {
    try (SharedArena arena = attach(MIB); SharedArena other = attach(MIB);
        ArenaRegion r = publish(arena, 2 * CHUNK, 3)) {
      ByteBuffer dst = ByteBuffer.allocate(4 * CHUNK);
      long o = r.owner();
      long a = r.address();
      long k = r.key();
      long end = arena.sizeBytes();

      InvalidDescriptorException outside = assertThrows(InvalidDescriptorException.class,
          () -> arena.copyOut(o, end, k, CHUNK, 0, 10, dst, 0));
      assertTrue(outside.getMessage().startsWith("descriptor points outside the arena"), outside.getMessage());
      assertThrows(InvalidDescriptorException.class, () -> arena.copyOut(o, 0, k, 100, 0, 10, dst, 0));
      assertThrows(InvalidDescriptorException.class, () -> arena.copyOut(o, -CHUNK, k, 100, 0, 10, dst, 0));
      assertThrows(InvalidDescriptorException.class, () -> arena.copyOut(o, a + 8, k, 100, 0, 10, dst, 0));
      assertThrows(InvalidDescriptorException.class,
          () -> arena.copyOut(o, end - CHUNK, k, 2 * CHUNK, 0, 10, dst, 0));
      assertThrows(InvalidDescriptorException.class,
          () -> arena.copyOut(o, a, k, Long.MAX_VALUE, Long.MAX_VALUE - 5, 10, dst, 0));

      assertThrows(InvalidDescriptorException.class, () -> arena.copyOut(o, a, k, 2 * CHUNK, -1, 10, dst, 0));
      assertThrows(InvalidDescriptorException.class, () -> arena.copyOut(o, a, k, 2 * CHUNK, 0, -1, dst, 0));
      assertThrows(InvalidDescriptorException.class, () -> arena.copyOut(o, a, k, -1, 0, 0, dst, 0));
      assertThrows(InvalidDescriptorException.class,
          () -> arena.copyOut(o, a, k, 2 * CHUNK, 2 * CHUNK - 5, 10, dst, 0));
      assertThrows(InvalidDescriptorException.class, () -> arena.copyOut(o, a, 0, 2 * CHUNK, 0, 10, dst, 0));
      assertThrows(InvalidDescriptorException.class, () -> arena.copyOut(0, a, k, 2 * CHUNK, 0, 10, dst, 0));

      // A descriptor that claims more than its owner holds reaches into the next chunks.
      InvalidDescriptorException beyond = assertThrows(InvalidDescriptorException.class, () -> {
        try (ArenaRegion neighbour = publish(other, CHUNK, 4)) {
          assertEquals(a + 2 * CHUNK, neighbour.address());
          arena.copyOut(o, a, k, 3 * CHUNK, 0, 3 * CHUNK, dst, 0);
        }
      });
      assertTrue(beyond.getMessage().contains("outside its owner's space"), beyond.getMessage());
      InvalidDescriptorException stranger = assertThrows(InvalidDescriptorException.class,
          () -> arena.copyOut(other.token(), a, k, 2 * CHUNK, 0, 10, dst, 0));
      assertTrue(stranger.getMessage().contains("outside its owner's space"), stranger.getMessage());

      assertThrows(IllegalArgumentException.class, () -> arena.copyOut(o, a, k, 2 * CHUNK, 0, 10, dst, -1));
      assertThrows(IllegalArgumentException.class,
          () -> arena.copyOut(o, a, k, 2 * CHUNK, 0, 10, ByteBuffer.allocate(15), 6));
      assertArrayEquals(pattern(3, 2 * CHUNK), read(arena, r));
    }
  }

  @Test
  void fullArenaIsReportedAndNeighboursStayIntact() throws Exception {
    try (SharedArena arena = attach(MIB)) {
      int n = arena.chunkCount();
      List<ArenaRegion> regions = new ArrayList<>();
      for (int i = 0; i < n / 2; i++) {
        regions.add(publish(arena, 2 * CHUNK - i, i));
      }
      if (n % 2 == 1) {
        regions.add(publish(arena, CHUNK, 999));
      }
      assertEquals(0, arena.freeChunks());
      ResourceFullException full = assertThrows(ResourceFullException.class, () -> arena.allocate(1));
      assertTrue(full.getMessage().contains("full: 1 bytes asked, 0 bytes free"), full.getMessage());

      // One gap of two chunks: three do not fit, even though three are free in all.
      regions.get(3).close();
      regions.get(10).close();
      regions.get(11).close();
      full = assertThrows(ResourceFullException.class, () -> arena.allocate(5 * CHUNK));
      assertTrue(full.getMessage().contains("in 2 runs (largest " + 4 * CHUNK), full.getMessage());
      assertThrows(ResourceFullException.class, () -> arena.allocate(Long.MAX_VALUE));
      try (ArenaRegion fits = publish(arena, 4 * CHUNK, 1000)) {
        assertEquals(regions.get(10).address(), fits.address());
        for (int i = 0; i < n / 2; i++) {
          if (i != 3 && i != 10 && i != 11) {
            assertArrayEquals(pattern(i, 2 * CHUNK - i), read(arena, regions.get(i)), "region " + i);
          }
        }
        assertArrayEquals(pattern(1000, 4 * CHUNK), read(arena, fits));
      }
      regions.forEach(ArenaRegion::close);
      assertEquals(n, arena.freeChunks());
    }
  }

  @Test
  void concurrentAllocateAndFreeKeepRegionsDisjoint() throws Exception {
    try (SharedArena arena = attach(2 * MIB); SharedArena reader = attach(2 * MIB)) {
      int threads = 8;
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<Future<Integer>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          long threadSeed = t;
          Callable<Integer> work = () -> {
            Random random = new Random(threadSeed);
            List<ArenaRegion> held = new ArrayList<>();
            List<Long> seeds = new ArrayList<>();
            int checked = 0;
            for (int i = 0; i < 400; i++) {
              long seed = threadSeed * 1_000_000 + i;
              int length = 1 + random.nextInt(4 * CHUNK);
              held.add(publish(arena, length, seed));
              seeds.add(seed);
              if (held.size() > 4 || random.nextBoolean()) {
                int victim = random.nextInt(held.size());
                ArenaRegion r = held.remove(victim);
                long victimSeed = seeds.remove(victim);
                assertArrayEquals(pattern(victimSeed, (int) r.length()), read(reader, r));
                r.close();
                checked++;
              }
            }
            for (int i = 0; i < held.size(); i++) {
              assertArrayEquals(pattern(seeds.get(i), (int) held.get(i).length()), read(reader, held.get(i)));
              held.get(i).close();
              checked++;
            }
            return checked;
          };
          results.add(pool.submit(work));
        }
        int checked = 0;
        for (Future<Integer> f : results) {
          checked += f.get(15, TimeUnit.SECONDS);
        }
        assertEquals(threads * 400, checked);
      } finally {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(5, TimeUnit.SECONDS));
      }
      assertEquals(arena.chunkCount(), arena.freeChunks());
    }
  }

  @Test
  void concurrentAttachesAgreeOnOneInitialisation() throws Exception {
    int attachers = 6;
    ExecutorService pool = Executors.newFixedThreadPool(attachers);
    List<SharedArena> arenas = new ArrayList<>();
    try {
      List<Future<SharedArena>> futures = new ArrayList<>();
      for (int i = 0; i < attachers; i++) {
        int chunk = CHUNK << (i % 2);
        futures.add(pool.submit(() -> SharedArena.attach(arenaFile(), MIB, chunk, 8, 100, 5_000)));
      }
      for (Future<SharedArena> f : futures) {
        arenas.add(f.get(10, TimeUnit.SECONDS));
      }
      Set<UUID> ids = new HashSet<>();
      Set<Integer> chunks = new HashSet<>();
      Set<Integer> slots = new HashSet<>();
      for (SharedArena a : arenas) {
        ids.add(a.arenaId());
        chunks.add(a.chunkBytes());
        slots.add(a.slot());
      }
      assertEquals(1, ids.size());
      assertEquals(1, chunks.size());
      assertEquals(attachers, slots.size(), "each attachment holds its own slot");
      assertEquals(attachers, arenas.get(0).slotsInUse());
    } finally {
      pool.shutdownNow();
      arenas.forEach(SharedArena::close);
    }
  }

  @Test
  void existingArenaKeepsItsSizeChunkSizeAndSlots() throws Exception {
    // Like an IVSHMEM BAR: the file exists, zeroed, with a size nobody may change.
    try (RandomAccessFile f = new RandomAccessFile(arenaFile().toFile(), "rw")) {
      f.setLength(2 * MIB);
    }
    UUID id;
    try (SharedArena first = SharedArena.attach(arenaFile(), MIB, CHUNK, 4, 100, 5_000)) {
      assertEquals(2 * MIB, first.sizeBytes());
      id = first.arenaId();
    }
    try (SharedArena second = SharedArena.attach(arenaFile(), 4 * MIB, 2 * CHUNK, 16, 100, 5_000)) {
      assertEquals(2 * MIB, second.sizeBytes());
      assertEquals(CHUNK, second.chunkBytes());
      assertEquals(id, second.arenaId());
      assertEquals(1, second.slotsInUse(), "the first attachment freed its slot on close");
    }
    assertEquals(2 * MIB, Files.size(arenaFile()));
  }

  @Test
  void processSlotsRunOutWithAClearError() throws Exception {
    List<SharedArena> arenas = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        arenas.add(SharedArena.attach(arenaFile(), MIB, CHUNK, 3, 100, 5_000));
      }
      ResourceFullException e = assertThrows(ResourceFullException.class,
          () -> SharedArena.attach(arenaFile(), MIB, CHUNK, 3, 100, 5_000));
      assertTrue(e.getMessage().contains("has no free process slot (3 in use"), e.getMessage());
      arenas.remove(0).close();
      arenas.add(SharedArena.attach(arenaFile(), MIB, CHUNK, 3, 100, 5_000));
    } finally {
      arenas.forEach(SharedArena::close);
    }
  }

  private void writeHeader(long magic, long state, long version) throws Exception {
    try (FileChannel ch = FileChannel.open(arenaFile(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer header = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
      header.putLong(magic).putLong(state).putLong(version).flip();
      ch.write(header, 0);
      ch.write(ByteBuffer.allocate(1), MIB - 1);
    }
  }

  @Test
  void fileWithForeignMagicIsRefused() throws Exception {
    writeHeader(0x1234_5678L, 2, 1);
    TransportException e = assertThrows(TransportException.class, () -> attach(MIB));
    assertTrue(e.getMessage().contains(arenaFile().toString()) && e.getMessage().contains("not a vRDMA arena"),
        e.getMessage());
  }

  @Test
  void arenaOfAnotherLayoutVersionIsRefused() throws Exception {
    writeHeader(SharedArena.MAGIC, 2, 7);
    TransportException e = assertThrows(TransportException.class, () -> attach(MIB));
    assertEquals(-1, e.getMessage().indexOf('\n'));
    assertTrue(e.getMessage().contains(arenaFile() + " has layout version 7, expected 1"), e.getMessage());
  }

  @Test
  void arenaLeftHalfInitialisedIsReportedStuck() throws Exception {
    writeHeader(0, 1, 0);
    TransportException e = assertThrows(TransportException.class,
        () -> SharedArena.attach(arenaFile(), MIB, CHUNK, 8, 100, 5_000, 200));
    assertTrue(e.getMessage().contains("arena " + arenaFile() + " stuck initialising"), e.getMessage());
  }

  @Test
  void arenasTooSmallOrLargerThanTheirChunkTableAddressesAreRefusedWithoutLeavingAFile() throws Exception {
    long max = SharedArena.maxArenaBytes(CHUNK, 8);
    TransportException huge = assertThrows(TransportException.class,
        () -> SharedArena.attach(arenaFile(), max + CHUNK, CHUNK, 8, 100, 5_000));
    assertTrue(huge.getMessage().contains("addresses at most " + max + " bytes"), huge.getMessage());
    assertFalse(Files.exists(arenaFile()));

    assertThrows(TransportException.class, () -> SharedArena.attach(arenaFile(), 8192, CHUNK, 8, 100, 5_000));
    assertFalse(Files.exists(arenaFile()));
  }

  @Test
  void existingFileLargerThanOneMappingIsAttachedInWindowsAndNeverTruncated() throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(arenaFile().toFile(), "rw")) {
      f.setLength(3L << 30); // sparse, and only the header, tables and a few data pages are touched
    }
    try (SharedArena arena = SharedArena.attach(arenaFile(), MIB, 64 * 1024, 8, 100, 5_000)) {
      assertEquals(3L << 30, arena.sizeBytes(), "an existing file keeps its size");
      assertEquals(3, arena.windowCount());
      assertEquals(1L << 30, arena.maxRegionBytes());
      ArenaRegion r = publish(arena, 3 * CHUNK + 17, 11);
      assertArrayEquals(pattern(11, 3 * CHUNK + 17), read(arena, r));
    }
    assertEquals(3L << 30, Files.size(arenaFile()), "never truncated");
  }

  @Test
  void stalledProcessIsEvictedAndItsSpaceReclaimed() throws Exception {
    // The first attachment's heartbeat is far slower than the liveness timeout: it looks stalled.
    SharedArena stalled = SharedArena.attach(arenaFile(), MIB, CHUNK, 8, 60_000, 300);
    try (SharedArena healthy = SharedArena.attach(arenaFile(), MIB, CHUNK, 8, 50, 300)) {
      ArenaRegion r = publish(stalled, 10 * CHUNK, 5);
      assertArrayEquals(pattern(5, 10 * CHUNK), read(healthy, r));
      int free = healthy.freeChunks();
      assertEquals(0, healthy.reclaimDeadProcesses(), "not stale yet");
      Thread.sleep(450);
      assertEquals(1, healthy.reclaimDeadProcesses());
      assertEquals(0, healthy.reclaimDeadProcesses(), "a slot is reclaimed once");
      assertEquals(free + 10, healthy.freeChunks());
      assertEquals(1, healthy.slotsInUse());
      assertThrows(RegionNotFoundException.class, () -> read(healthy, r));

      TransportException e = assertThrows(TransportException.class, () -> stalled.allocate(10));
      assertTrue(e.getMessage().contains("evicted"), e.getMessage());
      assertThrows(TransportException.class, r::publish);
      // Closing the evicted attachment must not free the slot or chunks someone else now holds.
      try (ArenaRegion other = publish(healthy, 10 * CHUNK, 6)) {
        r.close();
        stalled.close();
        assertArrayEquals(pattern(6, 10 * CHUNK), read(healthy, other));
        assertEquals(1, healthy.slotsInUse());
      }
    } finally {
      stalled.close();
    }
  }

  @Test
  void readRacingAFreeAndReuseFailsInsteadOfReturningTheNewData() throws Exception {
    // One chunk only, so every new region reuses the memory of the one just freed.
    long oneChunkArena = 3 * CHUNK; // header page, process and chunk tables padded to a chunk, one chunk
    try (SharedArena writer = SharedArena.attach(arenaFile(), oneChunkArena, CHUNK, 8, 100, 5_000);
        SharedArena reader = SharedArena.attach(arenaFile(), oneChunkArena, CHUNK, 8, 100, 5_000)) {
      assertEquals(1, writer.chunkCount());
      AtomicReference<long[]> current = new AtomicReference<>();
      AtomicBoolean stop = new AtomicBoolean();
      Thread churn = new Thread(() -> {
        try {
          for (int v = 1; !stop.get(); v++) {
            try (ArenaRegion r = writer.allocate(CHUNK)) {
              ByteBuffer b = r.writableBuffer();
              while (b.hasRemaining()) {
                b.put((byte) v);
              }
              r.publish();
              current.set(new long[] {r.owner(), r.address(), r.key(), v});
              if (v % 2 == 0) {
                LockSupport.parkNanos(50_000); // some regions live long enough to be read whole
              }
            }
          }
        } catch (TransportException e) {
          throw new AssertionError(e);
        }
      }, "churn");
      churn.start();
      int good = 0;
      int refused = 0;
      ByteBuffer dst = ByteBuffer.allocate(CHUNK);
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700);
      try {
        while (System.nanoTime() < deadline) {
          long[] d = current.get();
          if (d == null) {
            continue;
          }
          try {
            reader.copyOut(d[0], d[1], d[2], CHUNK, 0, CHUNK, dst, 0);
          } catch (RegionNotFoundException e) {
            refused++;
            continue;
          }
          for (int i = 0; i < CHUNK; i++) {
            assertEquals((byte) d[3], dst.get(i), "byte " + i + " of a read that succeeded");
          }
          good++;
        }
      } finally {
        stop.set(true);
        churn.join(5_000);
      }
      assertFalse(churn.isAlive());
      assertTrue(good > 0 && refused > 0, good + " reads succeeded, " + refused + " refused");
    }
  }

  @Test
  void twoReclaimersOfOneDeadProcessReclaimItOnce() throws Exception {
    SharedArena stalled = SharedArena.attach(arenaFile(), MIB, CHUNK, 8, 60_000, 300);
    try (SharedArena a = SharedArena.attach(arenaFile(), MIB, CHUNK, 8, 50, 300);
        SharedArena b = SharedArena.attach(arenaFile(), MIB, CHUNK, 8, 50, 300)) {
      for (int i = 0; i < 20; i++) {
        publish(stalled, CHUNK * (1 + i % 3), i);
      }
      Thread.sleep(450);
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<Integer> fa = pool.submit(a::reclaimDeadProcesses);
        Future<Integer> fb = pool.submit(b::reclaimDeadProcesses);
        assertEquals(1, fa.get() + fb.get());
      } finally {
        pool.shutdownNow();
      }
      assertEquals(a.chunkCount(), a.freeChunks());
      assertEquals(2, a.slotsInUse());
    } finally {
      stalled.close();
    }
  }

  @Test
  void closedArenaRefusesWorkAndFreesItsSpace() throws Exception {
    try (SharedArena reader = attach(MIB)) {
      SharedArena arena = attach(MIB);
      ArenaRegion r = publish(arena, 3 * CHUNK, 8);
      assertEquals(2, reader.slotsInUse());
      arena.close();
      arena.close();
      assertEquals(reader.chunkCount(), reader.freeChunks());
      assertEquals(1, reader.slotsInUse());
      assertThrows(RegionNotFoundException.class, () -> read(reader, r));
      assertThrows(TransportException.class, () -> arena.allocate(1));
      assertThrows(TransportException.class, () -> read(arena, r));
      assertThrows(IllegalStateException.class, r::writableBuffer);
      r.close();
    }
  }

  @Test
  void aReadOnlyAttachmentReadsPublishedRegionsWithoutASlotAndCannotAllocate() throws Exception {
    io.vrdma.transport.config.TransportConf conf = io.vrdma.transport.config.TransportConf.fromMap(java.util.Map.of(
        io.vrdma.transport.config.TransportConf.SHM_ARENA_PATH.name(), arenaFile().toString(),
        io.vrdma.transport.config.TransportConf.SHM_ARENA_BYTES.name(), "8m"));
    try (SharedArena writer = SharedArena.attach(conf)) {
      ArenaRegion region = writer.allocate(10_000);
      byte[] bytes = new byte[10_000];
      new Random(3).nextBytes(bytes);
      region.writableBuffer().put(bytes);
      region.publish();
      try (SharedArena reader = SharedArena.attachForReading(conf)) {
        assertTrue(reader.readOnly());
        assertEquals(1, writer.slotsInUse(), "the reader holds no slot");
        ByteBuffer dst = ByteBuffer.allocate(10_000);
        reader.copyOut(region.owner(), region.address(), region.key(), 10_000, 0, 10_000, dst, 0);
        assertArrayEquals(bytes, dst.array());
        TransportException refused = assertThrows(TransportException.class, () -> reader.allocate(100));
        assertTrue(refused.getMessage().contains("reading only"), refused.getMessage());
      }
      ByteBuffer again = ByteBuffer.allocate(10_000);
      writer.copyOut(region.owner(), region.address(), region.key(), 10_000, 0, 10_000, again, 0);
      assertArrayEquals(bytes, again.array(), "closing the reader frees nothing of the writer's");
      region.close();
    }
  }
}
