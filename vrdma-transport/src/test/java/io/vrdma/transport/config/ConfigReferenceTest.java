package io.vrdma.transport.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** docs/configuration.md and the transport's keys in code say the same thing, both ways. */
public class ConfigReferenceTest {
  private static final Path DOC = Path.of("..", "docs", "configuration.md");
  private static final Pattern KEY_ROW = Pattern.compile("^\\| `([^`]+)` \\|", Pattern.MULTILINE);

  /** Checks one module's section against the committed reference; shared by every module's test. */
  public static void assertDocumented(ConfigSection section, String prefix) throws Exception {
    assertTrue(Files.exists(DOC), "docs/configuration.md is missing");
    String doc = Files.readString(DOC, StandardCharsets.UTF_8);
    assertTrue(doc.contains(ConfigReference.renderSection(section)),
        "docs/configuration.md is stale for " + prefix + "*: regenerate it (command at the top of the file)");
    Set<String> inDoc = new TreeSet<>();
    Matcher m = KEY_ROW.matcher(doc);
    while (m.find()) {
      if (m.group(1).startsWith(prefix)) {
        inDoc.add(m.group(1));
      }
    }
    Set<String> inCode = section.keys().stream().map(ConfigKey::name).collect(Collectors.toCollection(TreeSet::new));
    assertEquals(inCode, inDoc, "keys documented vs keys in code");
    for (ConfigKey<?> key : section.keys()) {
      assertTrue(key.name().startsWith(prefix), key.name() + " is outside " + prefix);
      assertFalse(key.doc().isBlank(), key.name() + " has no documentation");
    }
  }

  @Test
  void transportKeysAreDocumentedExactlyAndOnlyAsInCode() throws Exception {
    assertDocumented(new TransportConf.Section(), TransportConf.PREFIX);
  }

  @Test
  void transportSectionIsFoundOnTheClassPath() {
    assertTrue(ConfigReference.sections().stream().anyMatch(s -> s instanceof TransportConf.Section));
  }
}
