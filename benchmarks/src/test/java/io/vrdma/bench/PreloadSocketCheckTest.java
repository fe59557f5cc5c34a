package io.vrdma.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The checks the Soft-RoCE bench runs under librdmacm's preload, run here on kernel TCP, where each must pass: a
 * check that failed without the preload could not tell the preload's faults from its own.
 */
class PreloadSocketCheckTest {
  @Test
  void timedSelectsReturnAndAWakeUpReachesABlockedSelectOnKernelTcp() throws Exception {
    String result = PreloadSocketCheck.timedSelect("127.0.0.1", 3);
    assertTrue(result.startsWith("PASS: timedSelect: 3 selects of 200 ms on an idle socket took ["), result);
  }

  @Test
  void httpAndTransferToMoveEveryByteOnKernelTcp() throws Exception {
    String http = PreloadSocketCheck.http("127.0.0.1", 1 << 20);
    assertTrue(http.startsWith("PASS: HttpURLConnection"), http);
    String transferTo = PreloadSocketCheck.transferTo("127.0.0.1", 1 << 20);
    assertTrue(transferTo.startsWith("PASS: transferTo"), transferTo);
  }
}
