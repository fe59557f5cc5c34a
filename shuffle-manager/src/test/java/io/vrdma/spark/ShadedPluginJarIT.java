package io.vrdma.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
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
 * What users install is one file: the shaded plugin jar on the driver's and executors' class path. This test runs
 * a shuffle in a driver JVM (and its local-cluster executors) whose class path has Spark's jars and that jar, and
 * none of our modules' own classes or the test class path's Netty-using transport, so a class missing from the
 * jar, a relocation that breaks the transport, or a service file lost in shading fails it.
 */
class ShadedPluginJarIT {
  @Test
  void aShuffleRunsFromThePluginJarAloneAndEachExecutorNamesItsTiers() throws Exception {
    Path pluginJar = Path.of(System.getProperty("vrdma.plugin.jar", "target/vrdma-shuffle-manager-plugin.jar"));
    assertTrue(Files.isRegularFile(pluginJar), "no plugin jar at " + pluginJar + " (run through mvn verify)");
    List<String> classPath = new ArrayList<>();
    classPath.add(pluginJar.toAbsolutePath().toString());
    Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(entry -> !isOurMainCode(entry)).forEach(classPath::add);

    Path tmp = Files.createTempDirectory("shaded-plugin-job");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx768m");
    cmd.addAll(jvmOpens());
    cmd.add("-Djava.io.tmpdir=" + tmp);
    cmd.addAll(List.of("-cp", String.join(File.pathSeparator, classPath), ShadedPluginJob.class.getName()));
    Path stderr = Files.createTempFile("shaded-plugin-job", ".stderr");
    Process driver = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
    String stdout = new String(driver.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(driver.waitFor(5, TimeUnit.MINUTES), "driver JVM still running after 5 minutes");
    Map<String, String> out = parse(stdout);
    String driverLog = tail(stderr);
    assertEquals(0, driver.exitValue(), () -> "driver failed: " + stdout + "\n" + driverLog);
    Files.deleteIfExists(stderr);
    deleteRecursively(tmp);

    assertEquals("true", out.get("correct"));
    assertEquals(pluginJar.toAbsolutePath().normalize(), Path.of(out.get("managerSource")).normalize(),
        "the manager class came from elsewhere than the plugin jar");
    assertEquals("2", out.get("executors"));
    assertTrue(Long.parseLong(out.get("bytes.shm")) > 0, () -> "no remote bytes over shm: " + out);
    assertEquals("0", out.get("sparkFallbackBlocks"), () -> "blocks went through Spark's client: " + out);
    assertEquals("0", out.get("failures"));

    List<String> startUpLines = out.entrySet().stream().filter(e -> e.getKey().startsWith("startUp."))
        .map(Map.Entry::getValue).collect(Collectors.toList());
    assertEquals(2, startUpLines.size(), () -> "start-up lines: " + startUpLines);
    for (String line : startUpLines) {
      assertTrue(line.contains("shm (") && line.contains("tcp ("), () -> "tiers missing: " + line);
      // the one tier this host lacks is named with its reason
      assertTrue(line.matches(".*verbs off: \\S.*"), () -> "verbs' reason missing: " + line);
    }
  }

  /** Our modules' classes as the build puts them on the test class path: reactor dirs or installed jars. */
  private static boolean isOurMainCode(String entry) {
    String path = entry.replace(File.separatorChar, '/');
    boolean reactorOutput = Stream.of("vrdma-transport/target/", "block-transfer/target/", "shuffle-manager/target/")
        .anyMatch(path::contains) && !path.endsWith("shuffle-manager/target/test-classes");
    return reactorOutput || path.contains("/io/vrdma/");
  }

  /** The JVM flags Spark's launcher adds on Java 17, as Surefire gives this JVM. */
  private static List<String> jvmOpens() {
    return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Djdk.reflect") || a.startsWith("-Dio.netty")
            || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions"))
        .collect(Collectors.toList());
  }

  private static Map<String, String> parse(String stdout) {
    Map<String, String> out = new HashMap<>();
    for (String line : stdout.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        out.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
    }
    return out;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static String tail(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }
}
