package io.vrdma.transport.rsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.rsocket.RsocketProbe.Environment;
import io.vrdma.transport.tier.TierAvailability;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every reason the rsocket probe can give, on a fake file system: a preload library, librdmacm and an RDMA
 * device are files and directories under a temporary directory. Then the real node on this host: without the
 * preload (CI) the tier stays off with its line.
 */
class RsocketProbeTest {
  @TempDir
  Path dir;
  private Path preload;
  private Path libs;
  private Path infiniband;
  private Path maps;

  @BeforeEach
  void fakeHost() throws Exception {
    preload = Files.createDirectories(dir.resolve("rsocket")).resolve("librspreload.so");
    Files.createFile(preload);
    libs = Files.createDirectories(dir.resolve("lib"));
    Files.createSymbolicLink(libs.resolve("librdmacm.so.1"),
        Files.createFile(libs.resolve("librdmacm.so.1.3.50.7")).getFileName());
    maps = mapping("/usr/lib/x86_64-linux-gnu/librdmacm.so.1.3.44.12");
    infiniband = Files.createDirectories(dir.resolve("infiniband"));
    Files.createDirectories(infiniband.resolve("rxe0"));
  }

  /** A process memory map (the format of /proc/self/maps) in which the preload has loaded {@code librdmacm}. */
  private Path mapping(String librdmacm) throws Exception {
    return Files.writeString(dir.resolve("maps"), String.join("\n",
        "55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1311     /usr/lib/jvm/java-17-openjdk-amd64/bin/java",
        "7f3a1c200000-7f3a1c21a000 r-xp 00006000 08:01 2201     " + librdmacm,
        "7f3a1c400000-7f3a1c408000 r-xp 00002000 08:01 2202     /usr/lib/x86_64-linux-gnu/rsocket/librspreload.so",
        "7ffd5a1e0000-7ffd5a201000 rw-p 00000000 00:00 0        [stack]", ""));
  }

  private Environment env(String ldPreload) {
    return new Environment(ldPreload, List.of(dir.resolve("nolib"), libs), infiniband, RsocketProbe.POLL_SELECTOR, true,
        maps, false);
  }

  private static void assertOff(TierAvailability a, String start) {
    assertEquals(Tier.RSOCKET, a.tier());
    assertFalse(a.available(), a::toString);
    assertFalse(a.detail().contains("\n"), "one line: " + a.detail());
    assertTrue(a.detail().startsWith(start), a.detail());
  }

  @Test
  void passesWithThePreloadAnRdmaDeviceThePollSelectorAndIpv4() throws Exception {
    TierAvailability a = RsocketProbe.probe(env(preload.toString()));
    assertTrue(a.available(), a::toString);
    assertTrue(a.detail().contains(preload.toString()) && a.detail().contains("rxe0"), a.detail());
    // ld.so also takes a bare name, and entries separated by colons or spaces
    assertTrue(RsocketProbe.probe(env("/other/libfoo.so:librspreload.so")).available());
    Path versioned = Files.createFile(dir.resolve("rsocket/librspreload.so.1"));
    assertTrue(RsocketProbe.probe(env("/other/libfoo.so " + versioned)).available());
  }

  @Test
  void withoutThePreloadSaysHowToStartTheJvm() {
    for (String ld : new String[] {null, "", "/usr/lib/libjemalloc.so", "/usr/lib/libvma.so"}) {
      TierAvailability a = RsocketProbe.probe(env(ld));
      assertOff(a, "LD_PRELOAD does not name librspreload.so");
      assertTrue(a.detail().contains("LD_PRELOAD=") && a.detail().contains("docs/deployment-vm.md"), a.detail());
      assertFalse(RsocketProbe.preloadActive(ld));
    }
    assertTrue(RsocketProbe.preloadActive(preload.toString()));
  }

  @Test
  void aPreloadPathThatDoesNotExistIsNamed() {
    String missing = dir.resolve("gone/librspreload.so").toString();
    assertOff(RsocketProbe.probe(env(missing)), "LD_PRELOAD names " + missing + ", which does not exist");
  }

  @Test
  void withoutLibrdmacmSaysWhereItLooked() throws Exception {
    Files.delete(libs.resolve("librdmacm.so.1"));
    Files.delete(maps);
    TierAvailability a = RsocketProbe.probe(env(preload.toString()));
    assertOff(a, "librdmacm.so.1 not found in");
    assertTrue(a.detail().contains(libs.toString()) && a.detail().contains("librdmacm1"), a.detail());
  }

  @Test
  void withoutAnRdmaDeviceSaysHowToAddSoftRoce() throws Exception {
    Files.delete(infiniband.resolve("rxe0"));
    TierAvailability empty = RsocketProbe.probe(env(preload.toString()));
    assertOff(empty, "no RDMA device in " + infiniband);
    assertTrue(empty.detail().contains("rdma link add"), empty.detail());
    Files.delete(infiniband);
    assertOff(RsocketProbe.probe(env(preload.toString())), "no RDMA device in " + infiniband);
  }

  @Test
  void theEpollSelectorIsRefusedWithTheFlagToUse() {
    Environment epoll = new Environment(preload.toString(), List.of(libs), infiniband,
        "sun.nio.ch.EPollSelectorProvider", true, maps, false);
    TierAvailability a = RsocketProbe.probe(epoll);
    assertOff(a, "the JVM's selector is sun.nio.ch.EPollSelectorProvider");
    assertTrue(a.detail().endsWith("-Djava.nio.channels.spi.SelectorProvider=sun.nio.ch.PollSelectorProvider"),
        a.detail());
  }

  @Test
  void dualStackSocketsAreRefusedWithTheFlagToUse() {
    Environment v6 = new Environment(preload.toString(), List.of(libs), infiniband, RsocketProbe.POLL_SELECTOR, false, maps,
        false);
    TierAvailability a = RsocketProbe.probe(v6);
    assertOff(a, "java.net.preferIPv4Stack is not true");
    assertTrue(a.detail().endsWith("-Djava.net.preferIPv4Stack=true"), a.detail());
  }

  @Test
  void aLibrdmacmWhoseRpollLosesWakeUpsIsRefusedNamingTheReleaseWithTheFix() throws Exception {
    maps = mapping("/usr/lib/x86_64-linux-gnu/librdmacm.so.1.3.44.0");
    TierAvailability a = RsocketProbe.probe(env(preload.toString()));
    assertOff(a, "librdmacm 44.0 (/usr/lib/x86_64-linux-gnu/librdmacm.so.1.3.44.0) loses rpoll's wake-ups");
    assertTrue(a.detail().contains("rdma-core 44.12 or 63.0"), a.detail());
    assertTrue(a.detail().contains("without LD_PRELOAD") && a.detail().contains("vrdma.transport.rsocket.rpollFixed"),
        a.detail());
    Environment trusted = new Environment(preload.toString(), List.of(libs), infiniband, RsocketProbe.POLL_SELECTOR,
        true, maps, true);
    assertTrue(RsocketProbe.probe(trusted).available(), "the user's word for a backported fix");
  }

  @Test
  void theRpollFixIsKnownForEveryStableLineAndTheMainLine() {
    for (String leaking : new String[] {"25.0", "39.4", "44.0", "44.11", "50.0", "56.1", "62.0"}) {
      assertTrue(RsocketProbe.rpollLeak("librdmacm.so.1.3." + leaking).isPresent(), leaking);
    }
    for (String fixed : new String[] {"24.0", "40.13", "44.12", "44.20", "56.4", "62.1", "63.0", "64.1"}) {
      assertEquals(java.util.Optional.empty(), RsocketProbe.rpollLeak("/lib/librdmacm.so.1.3." + fixed), fixed);
    }
    assertTrue(RsocketProbe.rpollLeak("librdmacm.so.1.3.39.4").orElseThrow().contains("rdma-core 63.0 and later"));
    assertTrue(RsocketProbe.rpollLeak("/opt/lib/librdmacm.so.1").orElseThrow().contains("cannot be told"));
  }

  @Test
  void withoutAMemoryMapTheInstalledLibrarysVersionIsRead() throws Exception {
    Files.delete(maps);
    assertTrue(RsocketProbe.probe(env(preload.toString())).available(), "50.7 has the fix");
    Files.delete(libs.resolve("librdmacm.so.1"));
    Files.createSymbolicLink(libs.resolve("librdmacm.so.1"), Files.createFile(libs.resolve("librdmacm.so.1.3.50.0")));
    assertOff(RsocketProbe.probe(env(preload.toString())), "librdmacm 50.0");
  }

  /** The real node on this host: under no preload (CI, a developer's machine) rsocket is off with the probe's line. */
  @Test
  void aNodeWithoutThePreloadLeavesRsocketOutOfItsAdvertisementWithItsReason() throws Exception {
    TierAvailability here = RsocketProbe.probe(Environment.current(false));
    Map<String, String> s = Map.of(TransportConf.HOST.name(), "127.0.0.1", TransportConf.SHM_ARENA_PATH.name(),
        dir.resolve("arena").toString(), TransportConf.SHM_ARENA_BYTES.name(), "16m");
    try (TransportNode node = TransportNode.start(TransportConf.fromMap(s))) {
      assertEquals(List.of(Tier.SHM, Tier.VERBS, Tier.RSOCKET, Tier.TCP), node.conf().tiers(), "default order");
      TierAvailability rsocket = node.availability().get(Tier.RSOCKET.ordinal());
      assertEquals(Tier.RSOCKET, rsocket.tier());
      assertEquals(here.available(), rsocket.available(), rsocket::toString);
      assertEquals(here.available(), node.advertisement().has(Tier.RSOCKET));
      if (!RsocketProbe.preloadActive()) {
        System.err.println("this JVM runs without librspreload, as on CI: " + rsocket);
        assertFalse(rsocket.available());
        assertEquals("rsocket off: " + here.detail(), rsocket.toString());
        assertTrue(node.has(Tier.TCP), "tcp carries the node without rsockets");
      }
    }
  }
}
