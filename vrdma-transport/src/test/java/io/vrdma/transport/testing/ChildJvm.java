package io.vrdma.transport.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Starts test peers in their own JVMs with this JVM's class path, and reads their {@code key=value} arguments. */
public final class ChildJvm {
  private ChildJvm() {}

  /** Starts {@code mainClass} with {@code key=value} arguments; its standard error goes to ours. */
  public static Process start(Class<?> mainClass, Map<String, String> args) throws IOException {
    // the verbs tier needs what this JVM was given: DiSNI's export and the path to libdisni
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED",
        "-Djava.library.path=" + System.getProperty("java.library.path", ""),
        "-Dorg.slf4j.simpleLogger.log.com.ibm.disni=warn",
        "-cp", System.getProperty("java.class.path"), mainClass.getName()));
    args.forEach((k, v) -> cmd.add(k + "=" + v));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }

  /** The {@code key=value} arguments of a child's {@code main}, as a mutable map. */
  public static Map<String, String> parseArgs(String[] args) {
    Map<String, String> settings = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("expected key=value, got " + arg);
      }
      settings.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    return settings;
  }
}
