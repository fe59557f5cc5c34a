package io.vrdma.transport.verbs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.tier.TierAvailability;
import io.vrdma.transport.verbs.VerbsProbe.Check;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerbsProbeTest {
  private static final String LIMITS = "Limit                     Soft Limit           Hard Limit           Units\n"
      + "Max open files            1024                 1048576              files\n"
      + "Max locked memory         %s             %s             bytes\n";

  @TempDir
  Path dir;

  private static void assertOneLine(Check<?> check) {
    assertFalse(check.passed());
    assertFalse(check.reason().contains("\n"), "one line: " + check.reason());
  }

  @Test
  void missingLibraryOnTheLibraryPathSaysWhereItLookedAndWhatToSet() {
    Check<Path> c = VerbsProbe.locateLibrary(dir + ":/nonexistent/lib", null);
    assertOneLine(c);
    assertTrue(c.reason().startsWith("libdisni not loadable: no libdisni.so on java.library.path"), c.reason());
    assertTrue(c.reason().contains(dir.toString()) && c.reason().contains("-Djava.library.path"), c.reason());
  }

  @Test
  void libraryOnTheLibraryPathIsFound() throws Exception {
    Path lib = Files.createFile(dir.resolve("libdisni.so"));
    Check<Path> c = VerbsProbe.locateLibrary("/nonexistent:" + dir, null);
    assertTrue(c.passed(), c::reason);
    assertEquals(lib, c.value());
  }

  @Test
  void environmentVariableNamingALibraryOffTheLibraryPathSaysWhichOptionToAdd() throws Exception {
    Path lib = Files.createFile(dir.resolve("libdisni.so"));
    Check<Path> c = VerbsProbe.locateLibrary("/usr/lib", lib.toString());
    assertOneLine(c);
    assertTrue(c.reason().startsWith("VRDMA_LIBDISNI=" + lib) && c.reason().endsWith("-Djava.library.path=" + dir),
        c.reason());
    assertTrue(VerbsProbe.locateLibrary(dir.toString(), lib.toString()).passed());
  }

  @Test
  void environmentVariableNamingNoFileOrAWronglyNamedOneIsRefused() throws Exception {
    Check<Path> missing = VerbsProbe.locateLibrary(dir.toString(), dir.resolve("nope.so").toString());
    assertOneLine(missing);
    assertTrue(missing.reason().contains("names no file"), missing.reason());
    Path renamed = Files.createFile(dir.resolve("libdisni-2.1.so"));
    Check<Path> misnamed = VerbsProbe.locateLibrary(dir.toString(), renamed.toString());
    assertOneLine(misnamed);
    assertTrue(misnamed.reason().contains("must name a file called libdisni.so"), misnamed.reason());
  }

  @Test
  void memlockLimitBelowThePoolsSaysWhatToSet() {
    Check<Long> c = VerbsProbe.checkMemlock(String.format(LIMITS, "8388608", "8388608"), "CapEff:\t0000000000000000\n",
        1280L << 20, "pool 256m + verbs 1g");
    assertOneLine(c);
    assertTrue(c.reason().startsWith("RLIMIT_MEMLOCK is 8 MiB, the configured pools need 1280 MiB (pool 256m + verbs 1g)"),
        c.reason());
    assertTrue(c.reason().contains("ulimit -l 1310720"), c.reason());
  }

  @Test
  void memlockIsNoLimitWhenUnlimitedLargeEnoughOrLiftedByCapIpcLock() {
    long need = 1L << 30;
    assertTrue(VerbsProbe.checkMemlock(String.format(LIMITS, "unlimited", "unlimited"), "", need, "").passed());
    assertTrue(VerbsProbe.checkMemlock(String.format(LIMITS, Long.toString(need), "unlimited"), "", need, "").passed());
    // root's usual capabilities: CAP_IPC_LOCK (bit 14) lets it pin beyond the limit
    assertTrue(VerbsProbe.checkMemlock(String.format(LIMITS, "65536", "65536"), "CapEff:\t000001ffffffffff\n", need, "")
        .passed());
    assertFalse(VerbsProbe.checkMemlock(String.format(LIMITS, "65536", "65536"), "CapEff:\t0000000000000000\n", need, "")
        .passed());
  }

  @Test
  void deviceLimitsAreReadFromIbvDevinfo() {
    String devinfo = "hca_id:\trxe0\n\ttransport:\t\t\tInfiniBand (0)\n\t\tmax_mr_size:\t\t\t0xffffffffffffffff\n"
        + "\t\tmax_qp_wr:\t\t\t1048576\n\t\tmax_cqe:\t\t\t1048576\n\t\tmax_qp_rd_atom:\t\t\t128\n"
        + "\t\tmax_ee_rd_atom:\t\t\t0\n\t\tmax_res_rd_atom:\t\t258048\n\t\tmax_qp_init_rd_atom:\t\t128\n";
    assertEquals(Optional.of(new DeviceLimits(128, 128, 1048576, 1048576)), DeviceLimits.parse(devinfo));
    assertEquals(Optional.empty(), DeviceLimits.parse("No IB devices found\n"));
  }

  @Test
  void devicesAreListedFromSysfsAndAbsentSysfsMeansNone() throws Exception {
    assertEquals(java.util.List.of(), VerbsProbe.devices(dir.resolve("no-infiniband")));
    Files.createDirectories(dir.resolve("ib/rxe0"));
    Files.createDirectories(dir.resolve("ib/mlx5_0"));
    assertEquals(java.util.List.of("mlx5_0", "rxe0"), VerbsProbe.devices(dir.resolve("ib")));
  }

  @Test
  void nodeKeepsTheVerbsReasonAsOneLineAndCarriesOnWithTcp() throws Exception {
    Map<String, String> s = Map.of(TransportConf.HOST.name(), "127.0.0.1", TransportConf.TIERS.name(), "verbs,tcp",
        TransportConf.VERBS_ADDRESS.name(), "127.0.0.1");
    try (TransportNode node = TransportNode.start(TransportConf.fromMap(s))) {
      TierAvailability verbs = node.availability().get(Tier.VERBS.ordinal());
      if (verbs.available()) {
        return; // a host with libdisni and a device: the conformance suite covers it
      }
      assertFalse(verbs.detail().isBlank());
      assertFalse(verbs.detail().contains("\n"), verbs.detail());
      assertTrue(verbs.toString().startsWith("verbs off: "), verbs.toString());
      assertTrue(node.has(Tier.TCP));
      assertFalse(node.advertisement().has(Tier.VERBS));
    }
  }
}
