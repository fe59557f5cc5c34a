package io.vrdma.hadoop;

import io.vrdma.transport.config.ConfigReferenceTest;
import org.junit.jupiter.api.Test;

class VrdmaShuffleConfReferenceTest {
  @Test
  void hadoopShuffleKeysAreDocumentedExactlyAndOnlyAsInCode() throws Exception {
    ConfigReferenceTest.assertDocumented(new VrdmaShuffleConf.Section(), VrdmaShuffleConf.PREFIX);
  }
}
