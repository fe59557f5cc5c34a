package io.vrdma.block.server;

import io.vrdma.block.protocol.Messages;
import io.vrdma.block.protocol.Messages.LocateAnswer;
import io.vrdma.block.protocol.Messages.Location;
import io.vrdma.transport.Tier;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a block server handed out and refused: blocks and bytes located for reading, per tier they are read on (the
 * tier the reader asked for, or tcp when the staging window had no room; small runs inline in the answer count under
 * the tier asked for), requests about namespaces it does not serve,
 * and connections it closed for bad requests. The serving side's view, for a daemon's metrics (the NodeManager's).
 */
public final class ServingMetrics {
  private final Map<Tier, LongAdder> blocks = new EnumMap<>(Tier.class);
  private final Map<Tier, LongAdder> bytes = new EnumMap<>(Tier.class);
  private final LongAdder unknownNamespace = new LongAdder();
  private final LongAdder refused = new LongAdder();

  ServingMetrics() {
    for (Tier t : Tier.values()) {
      blocks.put(t, new LongAdder());
      bytes.put(t, new LongAdder());
    }
  }

  /** Counts the blocks of one locate answer that the reader will read, by the tier it reads each on. */
  void located(Tier asked, LocateAnswer answer) {
    for (Location l : answer.blocks()) {
      if (l == null || l.deferred()) {
        continue;
      }
      // an inline run comes in the answer, over the connection of the tier asked for, as the reader counts it
      Messages.Run run = answer.runOf(l);
      Tier tier = run.isInline() || run.placements().containsKey(asked) ? asked : Tier.TCP;
      blocks.get(tier).increment();
      bytes.get(tier).add(l.length());
    }
  }

  void unknownNamespace() {
    unknownNamespace.increment();
  }

  void refused() {
    refused.increment();
  }

  /** Blocks located for reading on {@code tier} (a block located twice counts twice). */
  public long blocks(Tier tier) {
    return blocks.get(tier).sum();
  }

  /** Bytes of {@link #blocks}. */
  public long bytes(Tier tier) {
    return bytes.get(tier).sum();
  }

  /** Requests refused because they named a namespace this server does not serve (the connection stayed). */
  public long unknownNamespaceRequests() {
    return unknownNamespace.sum();
  }

  /** Connections closed because of a bad request: malformed, unauthenticated, a wrong proof. */
  public long refusedConnections() {
    return refused.sum();
  }
}
