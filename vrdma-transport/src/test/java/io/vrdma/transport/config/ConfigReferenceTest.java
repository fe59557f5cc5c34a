package io.vrdma.transport.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigReferenceTest {
  private static final Path DOC = Path.of("..", "docs", "configuration.md");

  @Test
  void committedReferenceMatchesTheKeysInCode() throws Exception {
    assertTrue(Files.exists(DOC), "docs/configuration.md is missing");
    assertEquals(ConfigReference.render(), Files.readString(DOC, StandardCharsets.UTF_8),
        "docs/configuration.md is stale: regenerate it with ConfigReference (command at the top of the file)");
  }

  @Test
  void everyKeyIsDocumentedWithItsDefault() {
    String doc = ConfigReference.render();
    for (ConfigKey<?> key : TransportConf.allKeys()) {
      assertTrue(doc.contains("`" + key.name() + "`"), key.name());
      assertTrue(!key.doc().isBlank(), key.name() + " has no documentation");
    }
  }
}
