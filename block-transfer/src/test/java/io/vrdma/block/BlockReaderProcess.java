package io.vrdma.block;

import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.ChildJvm;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A block reader in its own JVM that fetches blocks and holds them without releasing. Arguments: {@code port=},
 * {@code ns=}, {@code ids=a,b,..} and node settings. It prints {@code HOLDING <n>} once every block arrived and
 * then waits until its standard input closes (or it is killed, which is what tests do to it).
 */
public final class BlockReaderProcess {
  private BlockReaderProcess() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> settings = ChildJvm.parseArgs(args);
    int port = Integer.parseInt(settings.remove("port"));
    String ns = settings.remove("ns");
    List<String> ids = List.of(settings.remove("ids").split(","));
    Map<String, FetchedBlock> held = new ConcurrentHashMap<>();
    try (TransportNode node = TransportNode.start(TransportConf.fromMap(settings));
        BlockClient client = new BlockClient(node, BlockConf.fromMap(settings))) {
      client.fetch("127.0.0.1", port, ns, null, ids, new BlockFetchListener() {
        @Override
        public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
          held.put(blockId, block); // never released: the reader "stalls" holding them
        }

        @Override
        public void onBlockFetchFailure(String blockId, Throwable cause) {
          System.out.println("FAILED " + blockId + " " + cause);
        }
      }).get(60, TimeUnit.SECONDS);
      System.out.println("HOLDING " + held.size());
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      while (in.readLine() != null) {
        // hold until the test closes our input or kills us
      }
    }
  }
}
