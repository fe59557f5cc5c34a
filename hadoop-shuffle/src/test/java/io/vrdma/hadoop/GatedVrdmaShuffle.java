package io.vrdma.hadoop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.mapred.RawKeyValueIterator;

/**
 * Our consumer plugin, held at the start of its shuffle until the test opens a gate: each reducer says it is waiting
 * (a file {@code waiting-<reduce attempt>} in the gate directory {@link #GATE_DIR}) and waits for the file {@code
 * open} there. The test uses the pause to restart the NodeManager's service after every reducer has started and
 * before any has fetched.
 */
public class GatedVrdmaShuffle<K, V> extends VrdmaShuffle<K, V> {
  /** The job setting naming the gate directory (not under {@code vrdma.}, which our layers check). */
  static final String GATE_DIR = "test.vrdma.gate.dir";
  static final String OPEN = "open";
  private static final long MAX_WAIT_MS = 180_000;

  private Context<K, V> context;

  @Override
  public void init(Context<K, V> context) {
    this.context = context;
    super.init(context);
  }

  @Override
  public RawKeyValueIterator run() throws IOException, InterruptedException {
    Path gate = Path.of(context.getJobConf().get(GATE_DIR));
    Files.createFile(gate.resolve("waiting-" + context.getReduceId()));
    long deadline = System.currentTimeMillis() + MAX_WAIT_MS;
    while (!Files.exists(gate.resolve(OPEN))) {
      if (System.currentTimeMillis() > deadline) {
        throw new IOException("the test never opened the gate " + gate);
      }
      Thread.sleep(50);
    }
    return super.run();
  }
}
