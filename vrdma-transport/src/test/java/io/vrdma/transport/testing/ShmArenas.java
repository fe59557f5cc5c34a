package io.vrdma.transport.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/** Arena files for tests: in real shared memory (/dev/shm) when the machine has it. */
public final class ShmArenas {
  private static final Path DEV_SHM = Path.of("/dev/shm");

  private ShmArenas() {}

  /** A fresh arena path under /dev/shm, or in {@code fallbackDir} (saying so) when there is none. */
  public static Path newArenaPath(Path fallbackDir) {
    String name = "vrdma-test-" + UUID.randomUUID();
    if (Files.isDirectory(DEV_SHM) && Files.isWritable(DEV_SHM)) {
      return DEV_SHM.resolve(name);
    }
    System.out.println("no writable /dev/shm: the test arena is a file in " + fallbackDir);
    return fallbackDir.resolve(name);
  }

  public static void delete(Path arena) throws IOException {
    if (arena != null) {
      Files.deleteIfExists(arena);
    }
  }
}
