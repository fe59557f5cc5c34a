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

  /**
   * Spark's and Hadoop's modules cannot share one class path, so each top module rewrites the sections it
   * can see and keeps the others.
   */
  private static final String HEADER_COMMENT =
      "     Regenerate: mvn -q -DskipTests install && for m in shuffle-manager hadoop-shuffle; do mvn -q -pl $m"
          + " exec:java -Dexec.classpathScope=compile -Dexec.mainClass=io.vrdma.transport.config.ConfigReference"
          + " -Dexec.args=docs/configuration.md; done -->\n\n";

  /** The whole reference. */
  public static String render(List<ConfigSection> sections) {
    StringBuilder sb = new StringBuilder();
    sb.append("# Configuration reference\n\n");
    sb.append("<!-- Generated from the ConfigSection classes by io.vrdma.transport.config.ConfigReference; do not edit.\n");
    sb.append(HEADER_COMMENT);
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

  /**
   * The reference with the sections found on this class path rendered afresh and the sections of
   * {@code existing} that this class path cannot see kept as they are, in order.
   */
  public static String update(String existing, List<ConfigSection> visible) {
    List<ConfigSection> merged = new ArrayList<>(visible);
    String[] parts = existing.split("\n(?=## )");
    for (int i = 1; i < parts.length; i++) {
      String text = parts[i].endsWith("\n") ? parts[i] : parts[i] + "\n";
      String title = text.substring(3, text.indexOf('\n'));
      if (visible.stream().noneMatch(v -> v.title().equals(title))) {
        merged.add(new KeptSection(title, text, i * 10));
      }
    }
    merged.sort(Comparator.comparingInt(ConfigSection::order));
    StringBuilder sb = new StringBuilder(render(List.of()));
    for (ConfigSection section : merged) {
      sb.append('\n').append(section instanceof KeptSection kept ? kept.text : renderSection(section));
    }
    return sb.toString();
  }

  /** A section of the committed file that the running class path does not have, carried over verbatim. */
  private record KeptSection(String title, String text, int order) implements ConfigSection {
    @Override
    public String intro() {
      return "";
    }

    @Override
    public List<ConfigKey<?>> keys() {
      return List.of();
    }
  }

  /** Rewrites the reference at the path given as the first argument. */
  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("usage: ConfigReference <path of docs/configuration.md>");
      System.exit(2);
    }
    Path doc = Path.of(args[0]);
    String existing = Files.exists(doc) ? Files.readString(doc, StandardCharsets.UTF_8) : "";
    Files.writeString(doc, update(existing, sections()), StandardCharsets.UTF_8);
  }
}
