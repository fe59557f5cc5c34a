package io.vrdma.transport.verbs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The limits of an RDMA device that bound the verbs tier: how many RDMA READs a queue pair may have
 * outstanding as initiator ({@code max_qp_init_rd_atom}) and as responder ({@code max_qp_rd_atom}), the
 * work requests of a queue pair and the entries of a completion queue. DiSNI 2.1 has no
 * {@code ibv_query_device}, so they are read from rdma-core's {@code ibv_devinfo -v}; DiSNI's own connect
 * already asks the device for its maximum read depth.
 *
 * @param maxQpRdAtom reads a queue pair answers at once
 * @param maxQpInitRdAtom reads a queue pair issues at once
 * @param maxQpWr work requests per queue
 * @param maxCqe entries per completion queue
 */
public record DeviceLimits(int maxQpRdAtom, int maxQpInitRdAtom, int maxQpWr, int maxCqe) {
  /** Runs {@code ibv_devinfo -v -d device}; empty when the tool is missing or says nothing usable. */
  static Optional<DeviceLimits> query(String device) {
    try {
      Process p = new ProcessBuilder("ibv_devinfo", "-v", "-d", device).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return Optional.empty();
      }
      return parse(new String(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** Reads the limits from {@code ibv_devinfo -v} output. */
  public static Optional<DeviceLimits> parse(String devinfo) {
    int rd = field(devinfo, "max_qp_rd_atom");
    int init = field(devinfo, "max_qp_init_rd_atom");
    int wr = field(devinfo, "max_qp_wr");
    int cqe = field(devinfo, "max_cqe");
    if (rd <= 0 || init <= 0 || wr <= 0 || cqe <= 0) {
      return Optional.empty();
    }
    return Optional.of(new DeviceLimits(rd, init, wr, cqe));
  }

  private static int field(String text, String name) {
    for (String line : text.split("\n")) {
      String t = line.trim();
      if (t.startsWith(name + ":")) {
        String v = t.substring(name.length() + 1).trim().split("\\s+")[0];
        try {
          return Integer.parseInt(v);
        } catch (NumberFormatException e) {
          return -1;
        }
      }
    }
    return -1;
  }
}
