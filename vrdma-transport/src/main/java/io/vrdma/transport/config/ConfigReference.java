package io.vrdma.transport.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Renders the configuration reference ({@code docs/configuration.md}) from the keys of
 * {@link TransportConf}, so that the documentation is generated rather than kept in step by hand. A test
 * compares the committed file with this rendering; run {@code main} with the file's path to rewrite it.
 */
public final class ConfigReference {
  private ConfigReference() {}

  /** The markdown reference of every transport key. */
  public static String render() {
    StringBuilder sb = new StringBuilder();
    sb.append("# Configuration reference\n\n");
    sb.append("<!-- Generated from io.vrdma.transport.config.TransportConf by ConfigReference; do not edit.\n");
    sb.append("     Regenerate: mvn -q -pl vrdma-transport exec:java"
        + " -Dexec.mainClass=io.vrdma.transport.config.ConfigReference -Dexec.args=docs/configuration.md -->\n\n");
    sb.append("Keys of the transport layer, read from a plain map by `TransportConf.fromMap`; the Spark and"
        + " Hadoop integrations adapt their own configuration onto these keys. A misspelt key under"
        + " `vrdma.transport.` is refused at start-up.\n");
    sb.append("Sizes take the suffixes k, m, g; durations ms, s, m.\n\n");
    sb.append("| key | default | meaning |\n|---|---|---|\n");
    for (ConfigKey<?> key : TransportConf.allKeys()) {
      sb.append("| `").append(key.name()).append("` | `")
          .append(key.defaultValue().isEmpty() ? "(empty)" : key.defaultValue()).append("` | ")
          .append(key.doc().replace("|", "\\|")).append(" |\n");
    }
    return sb.toString();
  }

  /** Writes the reference to the path given as the first argument. */
  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("usage: ConfigReference <path of docs/configuration.md>");
      System.exit(2);
    }
    Files.writeString(Path.of(args[0]), render(), StandardCharsets.UTF_8);
  }
}
