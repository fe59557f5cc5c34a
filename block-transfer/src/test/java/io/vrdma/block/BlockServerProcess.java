package io.vrdma.block;

import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.ChildJvm;
import io.vrdma.transport.testing.Patterns;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A block server in its own JVM. Arguments: {@code dir=}, {@code ns=}, {@code seed=}, {@code sizes=a,b,..}
 * and node settings. It publishes one pattern file holding blocks {@code b0..bn}, prints {@code PORT <p>}
 * and {@code READY}, and exits when its standard input closes.
 */
public final class BlockServerProcess {
  private BlockServerProcess() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> settings = ChildJvm.parseArgs(args);
    Path dir = Path.of(settings.remove("dir"));
    String ns = settings.remove("ns");
    long seed = Long.parseLong(settings.remove("seed"));
    String[] sizeText = settings.remove("sizes").split(",");
    long total = 0;
    List<BlockSegment> blocks = new ArrayList<>();
    for (int i = 0; i < sizeText.length; i++) {
      long size = Long.parseLong(sizeText[i]);
      blocks.add(new BlockSegment("b" + i, total, size));
      total += size;
    }
    try (TransportNode node = TransportNode.start(TransportConf.fromMap(settings));
        BlockServer server = new BlockServer(node, BlockConf.fromMap(settings), false)) {
      server.createNamespace(ns, null);
      Path file = Patterns.writeFile(dir.resolve("server-" + ProcessHandle.current().pid()), seed, 0, total);
      server.publish(ns, file, blocks);
      System.out.println("PORT " + node.advertisement().port());
      System.out.println("READY");
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      while (in.readLine() != null) {
        // serve until the test closes our input
      }
    }
  }
}
