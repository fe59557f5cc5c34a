package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Spark 4 only (Spark 3.5 creates the manager before user jars are loaded, hence extraClassPath there): the
 * plugin jar installed as {@code --jars} alone runs a shuffle over shm. A driver JVM without the plugin on its
 * class path ({@link JarsInstallJob}) loads it the way spark-submit does; its local-cluster executors get it from
 * {@code spark.jars}. Fails when a class of ours crosses Spark's RPC to an executor (Spark reads replies there
 * with its own class loader, which does not see user jars) or the executors create the manager before the jar.
 */
class JarsInstallIT {
  @Test
  void thePluginJarInstalledWithJarsAloneRunsAShuffleOverShm() throws Exception {
    Path pluginJar = Path.of(System.getProperty("vrdma.plugin.jar",
        "target/vrdma-shuffle-manager-spark4-plugin.jar")).toAbsolutePath();
    assertTrue(Files.isRegularFile(pluginJar), "no plugin jar at " + pluginJar + " (run through mvn verify)");
    String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(entry -> !isOurMainCode(entry)).collect(Collectors.joining(File.pathSeparator));
    Path tmp = Files.createTempDirectory("jars-install-job");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx768m");
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Djdk.reflect") || a.startsWith("-Dio.netty")
            || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions"))
        .collect(Collectors.toList()));
    cmd.add("-Djava.io.tmpdir=" + tmp);
    cmd.addAll(List.of("-cp", classPath, JarsInstallJob.class.getName(), pluginJar.toString()));
    Path stderr = Files.createTempFile("jars-install-job", ".stderr");
    Process driver = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
    String stdout = new String(driver.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(driver.waitFor(5, TimeUnit.MINUTES), "driver JVM still running after 5 minutes");
    List<String> log = Files.readAllLines(stderr);
    String tail = String.join("\n", log.subList(Math.max(0, log.size() - 40), log.size()));
    assertEquals(0, driver.exitValue(), () -> "driver failed: " + stdout + "\n" + tail);
    Files.deleteIfExists(stderr);
    try (Stream<Path> files = Files.walk(tmp)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.deleteIfExists(p);
      }
    }

    Map<String, String> out = new HashMap<>();
    for (String line : stdout.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        out.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
    }
    assertEquals("true", out.get("correct"), () -> "wrong result: " + out);
    assertEquals(pluginJar.normalize(), Path.of(out.get("managerSource")).normalize());
    assertEquals("2", out.get("executors"), () -> "block servers registered: " + out);
    assertTrue(Long.parseLong(out.get("bytes.shm")) > 0, () -> "no remote bytes over shm: " + out);
    assertEquals("0", out.get("sparkFallbackBlocks"), () -> "blocks went through Spark's client: " + out);
    assertEquals("0", out.get("failures"), () -> "failed reads: " + out);
  }

  /** Our modules' main classes as the build puts them on the test class path: reactor dirs or installed jars. */
  private static boolean isOurMainCode(String entry) {
    String path = entry.replace(File.separatorChar, '/');
    return (Stream.of("vrdma-transport/target/", "block-transfer/target/", "shuffle-manager-spark4/target/")
        .anyMatch(path::contains) && !path.endsWith("shuffle-manager-spark4/target/test-classes"))
        || path.contains("/io/vrdma/");
  }
}
