package io.vrdma.transport.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vrdma.transport.RegionView;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.ResourceFullException;
import io.vrdma.transport.testing.ShmArenas;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Arenas whose data area is mapped as several windows. Small windows (4 MiB over a 16 MiB arena) exercise
 * every window rule quickly; one test maps a real arena larger than 2 GiB, sparse, on /dev/shm.
 */
@Timeout(30)
class SharedArenaWindowTest {
  static final int CHUNK = 4096;
  static final long MIB = 1 << 20;
  static final long WINDOW = 4 * MIB;
  static final int CHUNKS_PER_WINDOW = (int) (WINDOW / CHUNK);
  static final long ARENA_BYTES = 16 * MIB;

  @TempDir
  Path dir;

  private Path file;
  private final List<Process> children = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : children) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    ShmArenas.delete(file);
  }

  private SharedArena attachWindowed() throws TransportException {
    if (file == null) {
      file = dir.resolve("arena");
    }
    return SharedArena.attach(file, ARENA_BYTES, CHUNK, 8, 100, 5_000, SharedArena.DEFAULT_INIT_WAIT_MILLIS,
        WINDOW, false);
  }

  private static void assertWithinOneWindow(SharedArena arena, ArenaRegion r) {
    assertEquals(arena.windowOf(r.address()), arena.windowOf(r.address() + r.length() - 1),
        r + " crosses a window boundary");
  }

  @Test
  void regionsInEveryWindowReadBackThroughAnotherAttachmentAndNeverCrossAWindow() throws Exception {
    try (SharedArena writer = attachWindowed(); SharedArena reader = attachWindowed()) {
      assertEquals(4, writer.windowCount(), "a 16 MiB arena in 4 MiB windows");
      assertEquals(WINDOW, writer.maxRegionBytes());
      Random sizes = new Random(3);
      List<ArenaRegion> regions = new ArrayList<>();
      Set<Integer> windows = new HashSet<>();
      // Sizes of up to 300 chunks do not divide a window, so runs keep meeting window ends until the arena is full.
      while (true) {
        long length = 1 + sizes.nextInt(300 * CHUNK);
        ArenaRegion r;
        try {
          r = writer.allocate(length);
        } catch (ResourceFullException e) {
          break;
        }
        r.writableBuffer().put(SharedArenaTest.pattern(regions.size(), (int) length));
        r.publish();
        assertWithinOneWindow(writer, r);
        windows.add(writer.windowOf(r.address()));
        regions.add(r);
      }
      assertEquals(Set.of(0, 1, 2, 3), windows, "regions were placed in every window");

      for (int i = 0; i < regions.size(); i++) {
        ArenaRegion r = regions.get(i);
        byte[] expected = SharedArenaTest.pattern(i, (int) r.length());
        assertArrayEquals(expected, SharedArenaTest.read(reader, r), "copy of " + r);

        ByteBuffer slice = reader.readOnlySlice(r.owner(), r.address(), r.key(), r.length(), 0, (int) r.length());
        byte[] sliced = new byte[slice.remaining()];
        slice.get(sliced);
        assertArrayEquals(expected, sliced, "slice of " + r);

        RegionView view = reader.view(r.owner(), r.address(), r.key(), r.length(), 1, (int) r.length() - 1);
        byte[] viewed = new byte[view.length()];
        view.buffer().get(viewed);
        view.checkValid();
        assertArrayEquals(java.util.Arrays.copyOfRange(expected, 1, expected.length), viewed, "view of " + r);
      }
      for (ArenaRegion r : regions) {
        r.close();
      }
      assertEquals(writer.chunkCount(), reader.freeChunks());
    }
  }

  @Test
  void aRegionAsLargeAsAWindowWorksAndOneByteMoreIsFull() throws Exception {
    try (SharedArena writer = attachWindowed(); SharedArena reader = attachWindowed()) {
      ArenaRegion whole = writer.allocate(WINDOW);
      whole.writableBuffer().put(SharedArenaTest.pattern(9, (int) WINDOW));
      whole.publish();
      assertWithinOneWindow(writer, whole);
      assertArrayEquals(SharedArenaTest.pattern(9, (int) WINDOW), SharedArenaTest.read(reader, whole));

      ResourceFullException e = assertThrows(ResourceFullException.class, () -> writer.allocate(WINDOW + 1));
      assertTrue(e.getMessage().contains("within one mapped window of " + WINDOW + " bytes"), e.getMessage());
    }
  }

  @Test
  void freeRunAcrossAWindowBoundaryDoesNotHoldARegion() throws Exception {
    try (SharedArena arena = attachWindowed()) {
      // Half-window regions, first-fit from chunk 0 in a fresh arena: two per window.
      List<ArenaRegion> halves = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        halves.add(arena.allocate(WINDOW / 2));
        assertEquals(arena.windowOf(halves.get(i).address()), i / 2);
      }
      try (ArenaRegion third = arena.allocate(WINDOW);
          ArenaRegion last = arena.allocate((long) (arena.chunkCount() - 3 * CHUNKS_PER_WINDOW) * CHUNK)) {
        assertEquals(0, arena.freeChunks(), third + " and " + last + " fill windows 2 and 3");
        // Free the second half of window 0 and the first half of window 1: one window's worth of free chunks in a
        // row, but across the boundary.
        halves.get(1).close();
        halves.get(2).close();
        assertEquals(CHUNKS_PER_WINDOW, arena.freeChunks());
        ResourceFullException full = assertThrows(ResourceFullException.class, () -> arena.allocate(WINDOW));
        assertTrue(full.getMessage().contains("in 2 runs (largest " + WINDOW / 2 + " bytes)"), full.getMessage());

        try (ArenaRegion a = arena.allocate(WINDOW / 2); ArenaRegion b = arena.allocate(WINDOW / 2)) {
          assertWithinOneWindow(arena, a);
          assertWithinOneWindow(arena, b);
          assertEquals(0, arena.freeChunks());
        }
      }
    }
  }

  @Test
  void preallocateTouchesEveryWindowAndKeepsWhatWasPublished() throws Exception {
    try (SharedArena arena = attachWindowed()) {
      for (int w = 0; w < 3; w++) {
        arena.allocate(WINDOW); // fills window w
      }
      ArenaRegion last = arena.allocate(CHUNK);
      last.writableBuffer().put(SharedArenaTest.pattern(8, CHUNK));
      last.publish();
      assertEquals(3, arena.windowOf(last.address()));
      assertEquals((long) arena.chunkCount() * CHUNK, arena.preallocate());
      assertArrayEquals(SharedArenaTest.pattern(8, CHUNK), SharedArenaTest.read(arena, last));
    }
  }

  @Test
  void descriptorOfARegionAcrossAWindowIsInvalid() throws Exception {
    try (SharedArena owner = attachWindowed(); SharedArena reader = attachWindowed()) {
      ArenaRegion r = owner.allocate(CHUNK);
      r.publish();
      long lastChunkOfWindow0 = r.address() + (long) (CHUNKS_PER_WINDOW - 1) * CHUNK;
      InvalidDescriptorException e = assertThrows(InvalidDescriptorException.class, () -> reader.copyOut(
          r.owner(), lastChunkOfWindow0, r.key(), 2 * CHUNK, 0, 1, ByteBuffer.allocate(1), 0));
      assertTrue(e.getMessage().contains("crosses a window of " + WINDOW + " bytes"), e.getMessage());
    }
  }

  @Test
  void arenaOfAtMostTwoGibIsOneWindowSoARegionMayFillItsDataArea() throws Exception {
    file = dir.resolve("arena");
    // What every earlier release did with such an arena, which it may share with this one.
    try (SharedArena arena = SharedArena.attach(file, ARENA_BYTES, CHUNK, 8, 100, 5_000)) {
      assertEquals(1, arena.windowCount());
      long data = (long) arena.chunkCount() * CHUNK;
      assertEquals(data, arena.maxRegionBytes());
      try (ArenaRegion all = arena.allocate(data)) {
        assertEquals(data, all.writableBuffer().capacity());
        assertEquals(0, arena.freeChunks());
      }
    }
  }

  @Test
  void regionInALaterWindowIsReadByAnotherProcess() throws Exception {
    try (SharedArena arena = attachWindowed()) {
      // Fill windows 0 and 1, so that the child's region lands in a later window.
      ArenaRegion w0 = arena.allocate(WINDOW);
      ArenaRegion w1 = arena.allocate(WINDOW);
      int length = 7 * CHUNK + 5;
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
          ArenaChildProcess.class.getName(), file.toString(), Long.toString(ARENA_BYTES), Integer.toString(CHUNK),
          Integer.toString(length), "77", Long.toString(WINDOW));
      pb.redirectError(ProcessBuilder.Redirect.INHERIT);
      Process p = pb.start();
      children.add(p);
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("READY ")) {
        // skip anything else the child prints
      }
      assertNotNull(line, "child exited before READY");
      String[] f = line.split(" ");
      long owner = Long.parseLong(f[1]);
      long address = Long.parseLong(f[2]);
      long key = Long.parseLong(f[3]);
      assertTrue(arena.windowOf(address) >= 2, "child's region at " + address + " is in window "
          + arena.windowOf(address));
      assertEquals(arena.windowOf(address), arena.windowOf(address + length - 1));

      byte[] expected = new byte[length];
      new Random(77).nextBytes(expected);
      ByteBuffer dst = ByteBuffer.allocateDirect(length);
      arena.copyOut(owner, address, key, length, 0, length, dst, 0);
      byte[] got = new byte[length];
      dst.get(0, got);
      assertArrayEquals(expected, got);
      RegionView view = arena.view(owner, address, key, length, 0, length);
      byte[] viewed = new byte[length];
      view.buffer().get(viewed);
      view.checkValid();
      assertArrayEquals(expected, viewed);

      p.getOutputStream().close();
      assertTrue(p.waitFor(10, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue());
      w0.close();
      w1.close();
      assertEquals(arena.chunkCount(), arena.freeChunks());
    }
  }

  @Test
  void arenaLargerThanTwoGibOnDevShmHoldsRegionsBeyondTwoGibAndStaysSparse() throws Exception {
    long size = 3L << 30;
    Path shm = Path.of("/dev/shm");
    boolean room = Files.isDirectory(shm) && Files.isWritable(shm)
        && Files.getFileStore(shm).getUsableSpace() >= size;
    if (!room) {
      System.out.println("skipped: no writable /dev/shm with 3 GiB free; the small-window tests cover the rules");
    }
    assumeTrue(room, "no writable /dev/shm with 3 GiB free");
    file = shm.resolve("vrdma-test-3g-" + java.util.UUID.randomUUID());
    int chunk = 64 * 1024;
    try (SharedArena writer = SharedArena.attach(file, size, chunk, 8, 100, 5_000);
        SharedArena reader = SharedArena.attach(file, size, chunk, 8, 100, 5_000)) {
      assertEquals(size, writer.sizeBytes());
      assertEquals(3, writer.windowCount());
      assertEquals(1L << 30, writer.maxRegionBytes());
      assertThrows(ResourceFullException.class, () -> writer.allocate((1L << 30) + 1));
      // Two untouched window-sized regions fill windows 0 and 1; their pages stay holes.
      ArenaRegion w0 = writer.allocate(1L << 30);
      ArenaRegion w1 = writer.allocate(1L << 30);
      assertEquals(1L << 30, w0.writableBuffer().capacity());
      int length = 3 * chunk + 17;
      ArenaRegion far = writer.allocate(length);
      assertTrue(far.address() > Integer.MAX_VALUE, "region at " + far.address());
      far.writableBuffer().put(SharedArenaTest.pattern(5, length));
      far.publish();
      assertArrayEquals(SharedArenaTest.pattern(5, length), SharedArenaTest.read(reader, far));
      w0.writableBuffer().put((1 << 30) - 1, (byte) 42);
      w0.publish();
      ByteBuffer one = ByteBuffer.allocate(1);
      reader.copyOut(w0.owner(), w0.address(), w0.key(), w0.length(), (1L << 30) - 1, 1, one, 0);
      assertEquals(42, one.get(0));
      assertTrue(SharedArenaTest.allocatedBytes(file) < 64 * MIB, "sparse: "
          + SharedArenaTest.allocatedBytes(file) + " bytes backed");
      far.close();
      w1.close();
      w0.close();
    }
  }
}
