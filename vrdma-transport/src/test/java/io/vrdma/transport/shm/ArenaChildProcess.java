package io.vrdma.transport.shm;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

/**
 * A second process for the multi-process arena tests. It attaches with a short heartbeat (100 ms) and
 * liveness timeout (500 ms), allocates and publishes one region, prints {@code READY owner address key
 * length} and then waits for its standard input to close (the parent is done, or died), after which it
 * detaches cleanly. The parent may instead kill it to leave a dead process behind.
 *
 * <p>Arguments: arena path, create bytes, chunk bytes, region bytes, pattern seed, and optionally the data
 * window size (every process of an arena must use the parent's).
 */
public final class ArenaChildProcess {
  private ArenaChildProcess() {}

  /** Runs the child; see the class comment for the arguments. */
  public static void main(String[] args) throws Exception {
    Path path = Path.of(args[0]);
    long createBytes = Long.parseLong(args[1]);
    int chunkBytes = Integer.parseInt(args[2]);
    long regionBytes = Long.parseLong(args[3]);
    long seed = Long.parseLong(args[4]);
    long windowBytes = args.length > 5 ? Long.parseLong(args[5]) : 0;
    try (SharedArena arena = SharedArena.attach(path, createBytes, chunkBytes, 8, 100, 500,
        SharedArena.DEFAULT_INIT_WAIT_MILLIS, windowBytes, false)) {
      ArenaRegion region = arena.allocate(regionBytes);
      byte[] pattern = new byte[(int) regionBytes];
      new Random(seed).nextBytes(pattern);
      region.writableBuffer().put(pattern);
      region.publish();
      System.out.println("READY " + region.owner() + " " + region.address() + " " + region.key() + " "
          + region.length());
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      while (in.readLine() != null) {
        // Only the end of input matters.
      }
      region.close();
    }
  }
}
