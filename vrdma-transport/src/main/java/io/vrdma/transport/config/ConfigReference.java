package io.vrdma.transport.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Renders the configuration reference ({@code docs/configuration.md}) from the {@link ConfigSection}s on
 * the class path, so that the documentation is generated rather than kept in step by hand. Each module's
 * tests check that its section appears in the committed file exactly as rendered, and that the file
 * names no key of the module that the code lacks.
 */
public final class ConfigReference {
  private ConfigReference() {}

  /** Every section found on the class path, in order. */
  public static List<ConfigSection> sections() {
    List<ConfigSection> sections = new ArrayList<>();
    ServiceLoader.load(ConfigSection.class).forEach(sections::add);
    sections.sort(Comparator.comparingInt(ConfigSection::order));
    return sections;
  }

  /** The whole reference. */
  public static String render(List<ConfigSection> sections) {
    StringBuilder sb = new StringBuilder();
    sb.append("# Configuration reference\n\n");
    sb.append("<!-- Generated from the ConfigSection classes by io.vrdma.transport.config.ConfigReference; do not edit.\n");
    sb.append("     Regenerate: mvn -q -DskipTests install && mvn -q -pl shuffle-manager exec:java"
        + " -Dexec.mainClass=io.vrdma.transport.config.ConfigReference -Dexec.args=docs/configuration.md -->\n\n");
    sb.append("Sizes take the suffixes k, m, g; durations ms, s, m. A misspelt key under a documented prefix is"
        + " refused at start-up.\n");
    for (ConfigSection section : sections) {
      sb.append('\n').append(renderSection(section));
    }
    return sb.toString();
  }

  /** One section: heading, paragraph and the table of its keys. */
  public static String renderSection(ConfigSection section) {
    StringBuilder sb = new StringBuilder();
    sb.append("## ").append(section.title()).append("\n\n").append(section.intro()).append("\n\n");
    sb.append("| key | default | meaning |\n|---|---|---|\n");
    for (ConfigKey<?> key : section.keys()) {
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
    Files.writeString(Path.of(args[0]), render(sections()), StandardCharsets.UTF_8);
  }
}
