package io.vrdma.transport.conformance;

import io.vrdma.transport.Tier;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.ShmArenas;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;

/** The conformance suite on the shm tier, with a real shared-memory arena under /dev/shm. */
class ShmTransportConformanceTest extends TransportConformanceSuite {
  private Path arena;

  @Override
  protected boolean offersViews() {
    return true;
  }

  @Override
  protected Tier tier() {
    return Tier.SHM;
  }

  @Override
  protected Map<String, String> tierSettings(Path work) {
    if (arena == null) {
      arena = ShmArenas.newArenaPath(work);
    }
    return Map.of(TransportConf.SHM_ARENA_PATH.name(), arena.toString(),
        TransportConf.SHM_ARENA_BYTES.name(), "512m");
  }

  @AfterEach
  void deleteArena() throws Exception {
    ShmArenas.delete(arena);
  }
}
