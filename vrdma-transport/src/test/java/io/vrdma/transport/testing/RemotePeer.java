package io.vrdma.transport.testing;

import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.Tier;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A {@link PeerProcess} started by a test, with what it printed parsed. Closing it ends the process. */
public final class RemotePeer implements AutoCloseable {
  private final Process process;
  private final NodeAdvertisement advertisement;
  private final Map<Tier, List<RegionDescriptor>> regions;

  private RemotePeer(Process process, NodeAdvertisement advertisement, Map<Tier, List<RegionDescriptor>> regions) {
    this.process = process;
    this.advertisement = advertisement;
    this.regions = regions;
  }

  /** Starts a peer JVM with the test class path, registering one pattern region per size. */
  public static RemotePeer start(Path dir, Map<String, String> settings, long... regionSizes) throws Exception {
    StringBuilder sizes = new StringBuilder();
    for (long s : regionSizes) {
      sizes.append(sizes.length() == 0 ? "" : ",").append(s);
    }
    Map<String, String> args = new java.util.LinkedHashMap<>(settings);
    args.put("dir", dir.toString());
    args.put("regions", sizes.toString());
    Process process = ChildJvm.start(PeerProcess.class, args);
    CompletableFuture<RemotePeer> ready = CompletableFuture.supplyAsync(() -> parse(process));
    try {
      // a JVM under full emulation (the VM bench's TCG guest) needs far longer than the default
      return ready.get(Long.getLong("vrdma.test.peerStartSeconds", 60), TimeUnit.SECONDS);
    } catch (Exception e) {
      process.destroyForcibly();
      throw e;
    }
  }

  private static RemotePeer parse(Process process) {
    Base64.Decoder b64 = Base64.getDecoder();
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    NodeAdvertisement adv = null;
    Map<Tier, List<RegionDescriptor>> regions = new java.util.EnumMap<>(Tier.class);
    try {
      String line;
      while ((line = out.readLine()) != null) {
        String[] parts = line.split(" ");
        switch (parts[0]) {
          case "ADVERTISEMENT" -> adv = NodeAdvertisement.fromBytes(ByteBuffer.wrap(b64.decode(parts[1])));
          case "REGION" -> regions.computeIfAbsent(Tier.fromName(parts[1]), t -> new ArrayList<>())
              .add(RegionDescriptor.fromBytes(b64.decode(parts[2])));
          case "READY" -> {
            Thread drain = new Thread(() -> out.lines().forEach(System.out::println), "peer-stdout");
            drain.setDaemon(true);
            drain.start();
            return new RemotePeer(process, adv, regions);
          }
          default -> System.out.println("[peer] " + line);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("peer process output unreadable", e);
    }
    // stdout closes a moment before the process is reaped: wait for it, or exitValue() would throw
    String exit;
    try {
      exit = process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) ? "exited with " + process.exitValue()
          : "closed its output and is still running";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      exit = "closed its output";
    }
    throw new IllegalStateException("peer process " + exit + " before READY");
  }

  public NodeAdvertisement advertisement() {
    return advertisement;
  }

  /** The descriptors of the peer's regions on a tier, in the order of the sizes given. */
  public List<RegionDescriptor> regions(Tier tier) {
    return regions.getOrDefault(tier, List.of());
  }

  /** Kills the process at once, as a crash would: no chance to clean up. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** Asks the process to exit cleanly, killing it if it does not within a few seconds. */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    try {
      process.getOutputStream().write("exit\n".getBytes(StandardCharsets.UTF_8));
      process.getOutputStream().flush();
    } catch (IOException e) {
      // already gone
    }
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
