package io.vrdma.bench.tpcds;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's handle on one {@link VariantDriver} JVM: started with this JVM's class path and JVM options
 * (the module opens Spark needs), standard error to a log file, commands and answers over its standard input and
 * output.
 */
final class VariantProcess implements AutoCloseable {
  final String variant;
  final Path log;
  private final Process process;
  private final BufferedReader answers;
  private final PrintWriter commands;

  /** The answer to one RUN. */
  record Answer(String kind, String query, String[] fields, String message) {}

  private VariantProcess(String variant, Path log, Process process) {
    this.variant = variant;
    this.log = log;
    this.process = process;
    this.answers = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    this.commands = new PrintWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8), true);
  }

  static VariantProcess start(String variant, int driverMb, List<String> driverArgs, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      // the opens and system properties this JVM got, not its heap size or a debugger's port
      if (!a.startsWith("-Xmx") && !a.startsWith("-Xms") && !a.startsWith("-agentlib:jdwp")) {
        cmd.add(a);
      }
    }
    cmd.add("-Xmx" + driverMb + "m");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(VariantDriver.class.getName());
    cmd.addAll(driverArgs);
    Process p = new ProcessBuilder(cmd)
        .redirectError(ProcessBuilder.Redirect.to(log.toFile()))
        .start();
    return new VariantProcess(variant, log, p);
  }

  /** Waits for READY; throws with the log's place when the JVM says anything else or dies. */
  void awaitReady() throws IOException {
    String line = answers.readLine();
    if (!"READY".equals(line)) {
      throw new IOException(variant + " driver did not start (" + (line == null ? "exited" : line) + "), see " + log);
    }
  }

  /** Runs one query and waits for its answer. */
  Answer run(String query) throws IOException {
    commands.println("RUN " + query);
    String line = answers.readLine();
    if (line == null) {
      throw new IOException(variant + " driver exited while running " + query + ", see " + log);
    }
    String[] parts = line.split(" ", 3);
    String kind = parts[0];
    if (kind.equals("OK")) {
      String[] fields = line.split(" ");
      return new Answer(kind, fields[1], fields, "");
    }
    return new Answer(kind, parts.length > 1 ? parts[1] : query, new String[0], parts.length > 2 ? parts[2] : "");
  }

  @Override
  public void close() {
    try {
      commands.println("QUIT");
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
