package io.vrdma.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The IVSHMEM bench's server and reader on one host, with pre-sized files standing in for the BAR (a file
 * that exists with a fixed size, as {@code resource2} does): the same code the VM bench runs, without the
 * VMs. Timings are printed, never asserted; what is asserted is PASS or FAIL.
 */
class IvshmemBenchTest {
  @TempDir
  Path dir;

  private final ExecutorService serverThread = Executors.newSingleThreadExecutor();
  private Path arena;
  private Path otherArena;

  @AfterEach
  void tearDown() throws Exception {
    serverThread.shutdownNow();
    serverThread.awaitTermination(30, TimeUnit.SECONDS);
    BenchNodes.deleteQuietly(arena);
    BenchNodes.deleteQuietly(otherArena);
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void readerSharingTheServersFixedSizeArenaPasses() throws Exception {
    arena = fixedSizeFile(256 << 20);
    int port = freePortPair();
    Future<Integer> server = serverThread.submit(() -> IvshmemBench.serve(args(arena, port)));
    Map<String, String> reader = args(arena, port);
    reader.put("server", "127.0.0.1");
    reader.put("rounds", "1");
    reader.put("sizes", "65536,1048576");
    assertEquals(0, IvshmemBench.read(reader), "the reader reported FAIL");
    assertEquals(0, server.get(60, TimeUnit.SECONDS), "the server did not stop cleanly when told");
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void readerOnAnotherArenaFails() throws Exception {
    arena = fixedSizeFile(256 << 20);
    otherArena = fixedSizeFile(16 << 20);
    int port = freePortPair();
    serverThread.submit(() -> IvshmemBench.serve(args(arena, port)));
    Map<String, String> reader = args(otherArena, port);
    reader.put("server", "127.0.0.1");
    assertEquals(1, IvshmemBench.read(reader), "a reader that shares no arena with the server must FAIL");
    // the server is still waiting for a reader: tearDown interrupts it
  }

  private Map<String, String> args(Path arenaFile, int port) {
    Map<String, String> a = new HashMap<>();
    a.put("arena", arenaFile.toString());
    a.put("host", "127.0.0.1");
    a.put("port", Integer.toString(port));
    return a;
  }

  /** Like a BAR: the file exists, zeroed, before anyone attaches. */
  private Path fixedSizeFile(long bytes) throws IOException {
    Path file = BenchNodes.newArenaPath(dir);
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(bytes);
    }
    return file;
  }

  /** A port p with p + 1 free too: the bench's block node listens on p, its raw node on p + 1. */
  private static int freePortPair() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      try (ServerSocket first = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        int p = first.getLocalPort();
        if (p >= 65535) {
          continue;
        }
        ServerSocket second;
        try {
          second = new ServerSocket(p + 1, 1, InetAddress.getLoopbackAddress());
        } catch (IOException taken) {
          continue;
        }
        second.close();
        return p;
      }
    }
    throw new IOException("no two adjacent free ports on the loopback interface");
  }
}
