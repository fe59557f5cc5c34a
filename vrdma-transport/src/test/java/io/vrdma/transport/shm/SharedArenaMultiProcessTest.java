package io.vrdma.transport.shm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.TransportException.RegionNotFoundException;
import io.vrdma.transport.TransportException.ResourceFullException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two JVMs on one arena file: the second is {@link ArenaChildProcess}. */
@Timeout(20)
class SharedArenaMultiProcessTest {
  static final int CHUNK = 4096;
  static final long ARENA_BYTES = 1 << 20;

  @TempDir
  Path dir;

  private final List<Process> children = new ArrayList<>();

  @AfterEach
  void killChildren() throws InterruptedException {
    for (Process p : children) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The child's region: owner, address, key, length. */
  record Child(Process process, long owner, long address, long key, long length) {}

  private Child startChild(Path arena, long regionBytes, long seed) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        ArenaChildProcess.class.getName(), arena.toString(), Long.toString(ARENA_BYTES), Integer.toString(CHUNK),
        Long.toString(regionBytes), Long.toString(seed));
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    children.add(p);
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.startsWith("READY ")) {
      // skip anything else the child prints
    }
    assertNotNull(line, "child exited before READY, exit code " + (p.isAlive() ? "-" : p.exitValue()));
    String[] f = line.split(" ");
    return new Child(p, Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]));
  }

  @Test
  void regionPublishedByAnotherProcessIsReadAndGoneAfterItDetaches() throws Exception {
    Path file = dir.resolve("arena");
    int length = 5 * CHUNK + 17;
    Child child = startChild(file, length, 42);
    try (SharedArena arena = SharedArena.attach(file, ARENA_BYTES, CHUNK, 8, 100, 500)) {
      ByteBuffer dst = ByteBuffer.allocateDirect(length);
      arena.copyOut(child.owner(), child.address(), child.key(), child.length(), 0, length, dst, 0);
      byte[] expected = new byte[length];
      new Random(42).nextBytes(expected);
      byte[] got = new byte[length];
      dst.get(0, got);
      assertArrayEquals(expected, got);
      assertEquals(2, arena.slotsInUse());

      child.process().getOutputStream().close(); // the child detaches cleanly on end of input
      assertTrue(child.process().waitFor(10, TimeUnit.SECONDS));
      assertEquals(0, child.process().exitValue());
      assertThrows(RegionNotFoundException.class, () -> arena.copyOut(child.owner(), child.address(),
          child.key(), child.length(), 0, length, dst, 0));
      assertEquals(1, arena.slotsInUse());
      assertEquals(arena.chunkCount(), arena.freeChunks());
    }
  }

  @Test
  void deadProcessSpaceIsReclaimedAfterTheLivenessTimeout() throws Exception {
    Path file = dir.resolve("arena");
    // The child takes all but two chunks of the arena.
    long childBytes;
    try (SharedArena probe = SharedArena.attach(file, ARENA_BYTES, CHUNK, 8, 100, 500)) {
      childBytes = (long) (probe.chunkCount() - 2) * CHUNK;
    }
    Child child = startChild(file, childBytes, 7);
    try (SharedArena arena = SharedArena.attach(file, ARENA_BYTES, CHUNK, 8, 100, 500)) {
      assertEquals(2, arena.freeChunks());
      assertThrows(ResourceFullException.class, () -> arena.allocate(3 * CHUNK));
      assertEquals(0, arena.reclaimDeadProcesses(), "the child is alive");

      child.process().destroyForcibly();
      assertTrue(child.process().waitFor(10, TimeUnit.SECONDS));
      long killed = System.currentTimeMillis();
      assertEquals(2, arena.slotsInUse(), "a killed process keeps its slot until it is found dead");

      Thread.sleep(500 + 300);
      try (ArenaRegion r = arena.allocate(3 * CHUNK)) { // reclaims on finding no room
        assertTrue(System.currentTimeMillis() - killed >= 500);
        assertEquals(1, arena.slotsInUse());
        r.writableBuffer().put(0, (byte) 1);
        r.publish();
      }
      assertThrows(RegionNotFoundException.class, () -> arena.copyOut(child.owner(), child.address(),
          child.key(), child.length(), 0, 10, ByteBuffer.allocate(10), 0));
      assertEquals(arena.chunkCount(), arena.freeChunks());
    }
  }
}
