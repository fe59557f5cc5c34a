package io.vrdma.block;

import io.vrdma.transport.config.ConfigReferenceTest;
import org.junit.jupiter.api.Test;

class BlockConfReferenceTest {
  @Test
  void blockKeysAreDocumentedExactlyAndOnlyAsInCode() throws Exception {
    ConfigReferenceTest.assertDocumented(new BlockConf.Section(), BlockConf.PREFIX);
  }
}
