package io.vrdma.transport.testing;

import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Registration;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A transport node in its own JVM, for tests that must cross a process boundary (the shm tier exists
 * for exactly that). Arguments: {@code dir=<work dir>}, {@code regions=<size>,<size>,...} and any
 * {@code vrdma.transport.*} settings. It registers one pattern file per size (seed = its index),
 * prints {@code ADVERTISEMENT}, {@code REGION} and {@code READY} lines, echoes control requests, and
 * exits when its standard input closes or says {@code exit}.
 */
public final class PeerProcess {
  private PeerProcess() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> settings = ChildJvm.parseArgs(args);
    Path dir = Path.of(settings.remove("dir"));
    String[] sizes = settings.remove("regions").split(",");
    Base64.Encoder b64 = Base64.getEncoder();
    List<Registration> registrations = new ArrayList<>();
    try (TransportNode node = TransportNode.start(TransportConf.fromMap(settings))) {
      node.setControlHandler((peer, request) -> {
        ByteBuffer copy = ByteBuffer.allocate(request.remaining()).put(request).flip();
        return CompletableFuture.completedFuture(copy);
      });
      System.out.println("ADVERTISEMENT " + b64.encodeToString(node.advertisement().toBytes()));
      for (int i = 0; i < sizes.length; i++) {
        long size = Long.parseLong(sizes[i].trim());
        Path file = Patterns.writeFile(dir.resolve("peer-" + ProcessHandle.current().pid() + "-region-" + i),
            i, 7, size);
        Registration r = node.register(RegionSource.fileSegment(file, 7, size));
        registrations.add(r);
        r.descriptors().forEach((tier, d) ->
            System.out.println("REGION " + tier.configName() + " " + b64.encodeToString(d.toBytes())));
      }
      System.out.println("READY");
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null && !line.equals("exit")) {
        // wait: the parent test decides when this peer goes
      }
      registrations.forEach(Registration::close);
    }
  }
}
