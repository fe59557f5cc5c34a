package io.vrdma.hadoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What an operator installs is one file: the shaded plugin jar, for the NodeManager and for the task JVMs. These
 * tests run a sort on a MiniMRYarnCluster in a JVM (whose class path its task JVMs inherit) with Hadoop's jars and
 * that jar, and none of our modules' own classes: a class missing from the jar, a relocation that breaks the
 * transport, a lost service file or a Netty (or Netty native library) that clashes with Hadoop's fails them.
 */
class ShadedPluginJarIT {
  private static Path pluginJar;

  @BeforeAll
  static void findThePluginJar() {
    pluginJar = Path.of(System.getProperty("vrdma.plugin.jar", "target/vrdma-hadoop-shuffle-plugin.jar"))
        .toAbsolutePath().normalize();
    assertTrue(Files.isRegularFile(pluginJar), "no plugin jar at " + pluginJar + " (run through mvn verify)");
  }

  @Test
  void thePluginJarHasRelocatedNettyAndDiSNIAndNothingHadoopProvides() throws IOException {
    try (ZipFile jar = new ZipFile(pluginJar.toFile())) {
      List<String> unrelocated = jar.stream().map(e -> e.getName())
          .filter(n -> n.startsWith("io/netty/") || n.startsWith("META-INF/native/libnetty_"))
          .collect(Collectors.toList());
      assertEquals(List.of(), unrelocated, "Netty under names Hadoop's own Netty uses");
      assertTrue(jar.getEntry("META-INF/native/libio_vrdma_shaded_netty_transport_native_epoll_x86_64.so") != null,
          "the relocated epoll library is missing");
      assertTrue(jar.getEntry("com/ibm/disni/verbs/IbvContext.class") != null, "DiSNI is missing (unrelocated)");
      assertTrue(jar.stream().noneMatch(e -> e.getName().startsWith("org/apache/hadoop/")
          || e.getName().startsWith("org/slf4j/")), "Hadoop's or SLF4J's classes are in the plugin jar");
    }
  }

  @Test
  void aJobRunsWithThePluginJarOnTheNodeManagersAndTasksClassPathAndAsTheReducersWarmUpAgent() throws Exception {
    Map<String, String> out = runJob("classpath", true);

    assertOurShuffleRan(out);
    assertEquals(pluginJar.toString(), out.get("handler"), "the NodeManager's service came from elsewhere");
    assertEquals("false", out.get("handlerLoaderIsolated"));
    assertEquals(pluginJar.toString(), out.get("shadedNetty"));
    for (Map.Entry<String, String> e : out.entrySet()) {
      if (e.getKey().startsWith("reducer.") && e.getKey().endsWith(".plugin")) {
        assertEquals(pluginJar.toString(), e.getValue(), e.getKey() + ": the consumer plugin came from elsewhere");
      }
      if (e.getKey().startsWith("reducer.") && e.getKey().endsWith(".warmUp")) {
        // the reducer's setup runs after its shuffle, seconds after the agent began
        assertTrue(e.getValue().startsWith("done in "), e.getKey() + ": the jar as Java agent: " + e.getValue());
      }
    }
    assertEquals(1, out.keySet().stream().filter(k -> k.startsWith("reducer.") && k.endsWith(".warmUp")).count(),
        () -> "no reducer reported its warm-up: " + out);
  }

  @Test
  void aJobRunsWithThePluginJarInAnIsolatedAuxServiceLoaderAndOnTheTasksApplicationClassPath() throws Exception {
    Map<String, String> out = runJob("aux-classpath", false);

    assertOurShuffleRan(out);
    assertEquals(pluginJar.toString(), out.get("handler"), "the NodeManager's service came from elsewhere");
    assertEquals("true", out.get("handlerLoaderIsolated"), "the service was not loaded by the isolated loader");
    for (Map.Entry<String, String> e : out.entrySet()) {
      if (e.getKey().startsWith("reducer.") && e.getKey().endsWith(".plugin")) {
        assertEquals(pluginJar.toString(), e.getValue(), e.getKey() + ": the consumer plugin came from elsewhere");
      }
    }
  }

  /** The job's output, our counters and the Netty our transport used, in the NodeManager and in each reducer. */
  private static void assertOurShuffleRan(Map<String, String> out) {
    assertEquals("true", out.get("succeeded"), () -> "job failed: " + out);
    assertEquals("true", out.get("correct"), "wrong output");
    assertEquals("io.vrdma.hadoop.VrdmaShuffleHandler", out.get("handlerClass"));
    assertTrue(Long.parseLong(out.get("counter.VRDMA_SHUFFLE_MAPS")) > 0, () -> "nothing came over our path: " + out);
    assertEquals("0", out.get("counter.VRDMA_FALLBACK_MAPS"), () -> "maps fetched over HTTP: " + out);
    List<String> prefixes = new ArrayList<>(List.of(""));
    out.keySet().stream().filter(k -> k.startsWith("reducer.") && k.endsWith(".plugin"))
        .map(k -> k.substring(0, k.length() - "plugin".length())).forEach(prefixes::add);
    assertEquals(2, prefixes.size(), () -> "expected the NodeManager's and the reducer's reports: " + out);
    for (String p : prefixes) {
      String where = p.isEmpty() ? "NodeManager" : p;
      String types = out.get(p + "transportNettyTypes");
      assertTrue(types != null && !types.isEmpty(), () -> where + ": no Netty-typed fields found: " + out);
      for (String type : types.split(",")) {
        assertTrue(type.startsWith("io.vrdma.shaded.io.netty."), where + ": the transport uses " + type);
      }
      assertEquals(out.get(p + "transport"), out.get(p + "shadedNetty"),
          where + ": the transport and its Netty came from different places");
      // ours and Hadoop's epoll libraries both load in one JVM: the renamed library does not clash
      assertEquals("available", out.get(p + "shadedEpoll"), where + ": our Netty's epoll");
    }
    assertEquals("available", out.get("hadoopEpoll"), "Hadoop's Netty's epoll next to ours");
    assertFalse(out.get("hadoopNetty").equals(out.get("shadedNetty")), "Hadoop's Netty is ours");
  }

  private static Map<String, String> runJob(String mode, boolean pluginOnClassPath) throws Exception {
    List<String> classPath = new ArrayList<>();
    if (pluginOnClassPath) {
      classPath.add(pluginJar.toString());
    }
    Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(entry -> !notOnAHadoopNode(entry)).forEach(classPath::add);
    Path dir = Files.createTempDirectory("shaded-hadoop-plugin");
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
        "-Djava.io.tmpdir=" + dir, "-cp", String.join(File.pathSeparator, classPath),
        ShadedPluginJarJob.class.getName(), mode, pluginJar.toString(), dir.toString());
    Path stderr = Files.createTempFile("shaded-hadoop-plugin", ".stderr");
    ProcessBuilder builder = new ProcessBuilder(cmd).redirectError(stderr.toFile());
    // the NodeManager launches the task JVMs with $JAVA_HOME/bin/java
    builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process child = builder.start();
    String stdout = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    boolean exited = child.waitFor(3, TimeUnit.MINUTES);
    if (!exited) {
      child.destroyForcibly();
    }
    String log = tail(stderr);
    assertTrue(exited, () -> "mini cluster JVM still running after 3 minutes:\n" + log);
    assertEquals(0, child.exitValue(), () -> "mini cluster JVM failed:\n" + log);
    Files.deleteIfExists(stderr);
    deleteRecursively(dir);
    Map<String, String> out = new HashMap<>();
    for (String line : stdout.split("\n")) {
      int eq = line.indexOf('=');
      if (line.startsWith(ShadedPluginJarJob.MARK) && eq > 0) {
        out.put(line.substring(ShadedPluginJarJob.MARK.length(), eq), line.substring(eq + 1).trim());
      }
    }
    return out;
  }

  /**
   * What the test class path has that a Hadoop node does not: our modules' classes as the build puts them there
   * (reactor output or installed jars; this module's test classes, the job, stay) and DiSNI, which only our
   * transport brings (the plugin jar must carry it).
   */
  private static boolean notOnAHadoopNode(String entry) {
    String path = entry.replace(File.separatorChar, '/');
    boolean reactorOutput = Stream.of("vrdma-transport/target/", "block-transfer/target/", "hadoop-shuffle/target/")
        .anyMatch(path::contains) && !path.endsWith("hadoop-shuffle/target/test-classes");
    return reactorOutput || path.contains("/io/vrdma/") || path.contains("/com/ibm/disni/");
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static String tail(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }
}
