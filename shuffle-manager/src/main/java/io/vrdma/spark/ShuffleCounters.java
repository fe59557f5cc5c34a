package io.vrdma.spark;

import io.vrdma.block.client.BlockClientMetrics;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.Tier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * An executor's shuffle counters, by name: what its block client moved (per tier) and went through, what went
 * through Spark's client instead, and what its block server's staging window did and holds now. The same names
 * are reported to the driver ({@link VrdmaDriverEndpoint#total}) and exposed in Spark's metrics system
 * ({@link ExecutorShuffleSource}, and summed over executors by {@link DriverShuffleSource}).
 */
final class ShuffleCounters {
  private static final List<String> NAMES;

  static {
    List<String> names = new ArrayList<>();
    for (Tier tier : Tier.values()) {
      names.add("bytes." + tierName(tier));
      names.add("blocks." + tierName(tier));
    }
    names.addAll(List.of("bytes.inline", "blocks.inline", "retries", "tierFallbacks", "corruptRefetches", "failures",
        "deferredBlocks", "sparkFallbackBlocks", "publishedMaps", "migratedMaps", "batches", "stage.bytes", "stage.blocks",
        "stage.windowWaits",
        "stage.windowFallbackBlocks", "stage.windowFallbackBytes", "stage.leasesReclaimed", "stage.leasesExpired",
        "stage.bytesHeld", "stage.leasesHeld", "stage.inlineBlocks", "stage.inlineBytes"));
    NAMES = Collections.unmodifiableList(names);
  }

  private final LongAdder sparkFallbackBlocks = new LongAdder();
  private final LongAdder publishedMaps = new LongAdder();
  private final LongAdder migratedMaps = new LongAdder();
  private final LongAdder batches = new LongAdder();
  private final Map<String, LongSupplier> suppliers = new LinkedHashMap<>();

  ShuffleCounters(BlockClientMetrics client, BlockServer server) {
    for (Tier tier : Tier.values()) {
      suppliers.put("bytes." + tierName(tier), () -> client.bytes(tier));
      suppliers.put("blocks." + tierName(tier), () -> client.blocks(tier));
    }
    // part of the tiers' counts: small blocks that came in locate answers
    suppliers.put("bytes.inline", client::inlineBytes);
    suppliers.put("blocks.inline", client::inlineBlocks);
    suppliers.put("retries", client::retries);
    suppliers.put("tierFallbacks", client::fallbacks);
    suppliers.put("corruptRefetches", client::corruptRefetches);
    suppliers.put("failures", client::failures);
    suppliers.put("deferredBlocks", client::deferredBlocks);
    suppliers.put("sparkFallbackBlocks", sparkFallbackBlocks::sum);
    suppliers.put("publishedMaps", publishedMaps::sum);
    suppliers.put("migratedMaps", migratedMaps::sum);
    suppliers.put("batches", batches::sum);
    // the serving side's window: what it staged, what found it full, and what readers hold in it now
    var window = server.stagingMetrics();
    suppliers.put("stage.bytes", window::stagedBytes);
    suppliers.put("stage.blocks", window::stagedBlocks);
    suppliers.put("stage.windowWaits", window::windowWaits);
    suppliers.put("stage.windowFallbackBlocks", window::windowFallbackBlocks);
    suppliers.put("stage.windowFallbackBytes", window::windowFallbackBytes);
    suppliers.put("stage.leasesReclaimed", window::leasesReclaimed);
    suppliers.put("stage.leasesExpired", window::leasesExpired);
    suppliers.put("stage.bytesHeld", server::bytesHeld);
    suppliers.put("stage.leasesHeld", () -> server.leasesHeld());
    suppliers.put("stage.inlineBlocks", window::inlineBlocks);
    suppliers.put("stage.inlineBytes", window::inlineBytes);
    if (!suppliers.keySet().equals(new java.util.HashSet<>(NAMES))) {
      throw new IllegalStateException("counter names " + NAMES + " differ from " + suppliers.keySet());
    }
  }

  /** Every counter's name, in a stable order (the driver registers its totals before any executor reports). */
  static List<String> names() {
    return NAMES;
  }

  /** A tier as it appears in counter and metric names: {@code shm}, {@code verbs}, {@code tcp}. */
  static String tierName(Tier tier) {
    return tier.name().toLowerCase(Locale.ROOT);
  }

  /** Each counter's current value, by name. */
  Map<String, LongSupplier> suppliers() {
    return Collections.unmodifiableMap(suppliers);
  }

  /** Every counter's value now. */
  HashMap<String, Long> snapshot() {
    HashMap<String, Long> out = new HashMap<>();
    suppliers.forEach((name, value) -> out.put(name, value.getAsLong()));
    return out;
  }

  void sparkFallback(int blocks) {
    sparkFallbackBlocks.add(blocks);
  }

  void published() {
    publishedMaps.increment();
  }

  /** A map output that decommissioning migrated here was published (it counts in {@code publishedMaps} too). */
  void migrated() {
    migratedMaps.increment();
  }

  void batch() {
    batches.increment();
  }
}
