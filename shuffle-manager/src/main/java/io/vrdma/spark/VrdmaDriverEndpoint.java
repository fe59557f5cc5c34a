package io.vrdma.spark;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.rpc.RpcCallContext;
import org.apache.spark.rpc.RpcEndpoint;
import org.apache.spark.rpc.RpcEnv;
import scala.Function1;
import scala.PartialFunction;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;

/**
 * The driver's directory of executors' block servers (discovery), and the place where executors report
 * what their block clients moved, so that an application (and the tests) can see it.
 */
public final class VrdmaDriverEndpoint implements RpcEndpoint {
  /** Name of the endpoint in the driver's RPC environment. */
  public static final String NAME = "vrdma-shuffle";

  private static volatile VrdmaDriverEndpoint current;

  private final RpcEnv rpcEnv;
  private final Map<String, DriverMessages.PeerAddress> peers = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Long>> counters = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Long>> baseline = new ConcurrentHashMap<>();
  private final Map<String, Set<String>> namespaces = new ConcurrentHashMap<>();

  VrdmaDriverEndpoint(RpcEnv rpcEnv) {
    this.rpcEnv = rpcEnv;
  }

  static void started(VrdmaDriverEndpoint endpoint) {
    current = endpoint;
  }

  /** The endpoint of this driver JVM's running application, or null. */
  public static VrdmaDriverEndpoint current() {
    return current;
  }

  @Override
  public RpcEnv rpcEnv() {
    return rpcEnv;
  }

  /** Executors whose block server registered, with their addresses and tiers. */
  public Map<String, String> executors() {
    Map<String, String> out = new HashMap<>();
    peers.forEach((id, p) -> out.put(id, p.host() + ":" + p.port() + " " + p.tiers()));
    return out;
  }

  /** The block server of an executor as {@code host:port}, or null when it registered none. */
  public String blockServer(String executorId) {
    DriverMessages.PeerAddress p = peers.get(executorId);
    return p == null ? null : p.host() + ":" + p.port();
  }

  /**
   * The sum over executors of counter {@code name} since {@link #resetCounters} (executors report running
   * totals; what they had reported before the reset is subtracted). 0 when none reported it.
   */
  public long total(String name) {
    long sum = 0;
    for (Map.Entry<String, Map<String, Long>> e : counters.entrySet()) {
      Map<String, Long> base = baseline.getOrDefault(e.getKey(), Map.of());
      sum += e.getValue().getOrDefault(name, 0L) - base.getOrDefault(name, 0L);
    }
    return sum;
  }

  /** Every counter's {@link #total}, for diagnostics. */
  public Map<String, Long> totals() {
    Map<String, Long> out = new java.util.TreeMap<>();
    counters.values().forEach(c -> c.keySet().forEach(name -> out.put(name, total(name))));
    return out;
  }

  /** Per executor, the namespaces its block server served at its latest report. */
  public Map<String, Set<String>> servedNamespaces() {
    return Map.copyOf(namespaces);
  }

  /** Starts counting afresh: {@link #total} counts from the executors' latest reports on (one job at a time). */
  public void resetCounters() {
    baseline.clear();
    baseline.putAll(counters);
  }

  @Override
  public PartialFunction<Object, BoxedUnit> receiveAndReply(RpcCallContext context) {
    return new AbstractPartialFunction<>() {
      @Override
      public boolean isDefinedAt(Object message) {
        return message instanceof DriverMessages.Register || message instanceof DriverMessages.Find
            || message instanceof DriverMessages.Report;
      }

      @Override
      // Scala's signature: B1 is a supertype of BoxedUnit, so returning the unit is sound
      @SuppressWarnings("unchecked")
      public <A1, B1> B1 applyOrElse(A1 message, Function1<A1, B1> orElse) {
        if (message instanceof DriverMessages.Register r) {
          peers.put(r.address().executorId(), r.address());
          context.reply(Boolean.TRUE);
        } else if (message instanceof DriverMessages.Find f) {
          context.reply(DriverMessages.lookupReply(peers.get(f.executorId())));
        } else if (message instanceof DriverMessages.Report r) {
          counters.put(r.executorId(), r.counters());
          namespaces.put(r.executorId(), r.namespaces());
          context.reply(Boolean.TRUE);
        } else {
          return orElse.apply(message);
        }
        return (B1) BoxedUnit.UNIT;
      }
    };
  }
}
