package io.vrdma.spark;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.SparkEnv;
import org.apache.spark.rpc.RpcCallContext;
import org.apache.spark.rpc.RpcEndpoint;
import org.apache.spark.rpc.RpcEndpointRef;
import org.apache.spark.rpc.RpcEnv;
import org.apache.spark.rpc.RpcTimeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.Future;
import scala.concurrent.duration.FiniteDuration;
import scala.reflect.ClassTag$;
import scala.Function1;
import scala.PartialFunction;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;

/**
 * The driver's directory of executors' block servers (discovery), and the place where executors report what
 * their block clients moved and their block servers staged, so that operators (the {@link DriverShuffleSource} in
 * Spark's metrics system) and the tests can see it. Executors report one-way and periodically; the queries below
 * that must be exact ask each live executor for its counters first.
 */
public final class VrdmaDriverEndpoint implements RpcEndpoint {
  private static final Logger LOG = LoggerFactory.getLogger(VrdmaDriverEndpoint.class);
  /** Name of the endpoint in the driver's RPC environment. */
  public static final String NAME = "vrdma-shuffle";
  /** How long an exact query waits for one executor's counters before it keeps that executor's last report. */
  private static final long COUNTERS_QUERY_SECONDS = 10;

  private static volatile VrdmaDriverEndpoint current;

  private final RpcEnv rpcEnv;
  private final Map<String, DriverMessages.PeerAddress> peers = new ConcurrentHashMap<>();
  /** Each executor's latest report (the one with the highest sequence number). */
  private final Map<String, DriverMessages.Report> reports = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Long>> baseline = new ConcurrentHashMap<>();
  /** Executors to ask for their counters: dropped when one does not answer (it is gone; its last report stays). */
  private final Map<String, RpcEndpointRef> counterEndpoints = new ConcurrentHashMap<>();
  private final AtomicBoolean sourceRegistered = new AtomicBoolean();
  private final AtomicBoolean listening = new AtomicBoolean();

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
   * The sum over executors of counter {@code name} since {@link #resetCounters}, exact at the time of the call: each
   * live executor is asked for its counters first (up to 10 s each; an executor that is gone counts with its last
   * report). What executors had reported before the reset is subtracted. 0 when none reported it. Not for the
   * driver's RPC threads (it waits for executors' answers).
   */
  public long total(String name) {
    refresh();
    return sinceReset(name);
  }

  /** Every counter's {@link #total}, for diagnostics. */
  public Map<String, Long> totals() {
    refresh();
    Map<String, Long> out = new TreeMap<>();
    reports.values().forEach(r -> r.counters().keySet().forEach(name -> out.put(name, sinceReset(name))));
    return out;
  }

  /**
   * The sum over executors of counter {@code name} as of their latest reports, since the application started; never
   * waits (what the metrics system shows).
   */
  public long reportedTotal(String name) {
    long sum = 0;
    for (DriverMessages.Report r : reports.values()) {
      sum += r.counters().getOrDefault(name, 0L);
    }
    return sum;
  }

  private long sinceReset(String name) {
    long sum = 0;
    for (DriverMessages.Report r : reports.values()) {
      Map<String, Long> base = baseline.getOrDefault(r.executorId(), Map.of());
      sum += r.counters().getOrDefault(name, 0L) - base.getOrDefault(name, 0L);
    }
    return sum;
  }

  /** Per executor, the namespaces its block server serves now (as of its latest report, for executors gone). */
  public Map<String, Set<String>> servedNamespaces() {
    refresh();
    Map<String, Set<String>> out = new HashMap<>();
    reports.forEach((id, r) -> out.put(id, r.namespaces()));
    return Map.copyOf(out);
  }

  /** Starts counting afresh: {@link #total} counts from the executors' counters now on (one job at a time). */
  public void resetCounters() {
    refresh();
    baseline.clear();
    reports.forEach((id, r) -> baseline.put(id, r.counters()));
  }

  /** Asks every live executor for its counters now, in parallel; one that does not answer is not asked again. */
  private void refresh() {
    Map<String, Future<DriverMessages.Report>> asked = new HashMap<>();
    RpcTimeout timeout = new RpcTimeout(FiniteDuration.apply(COUNTERS_QUERY_SECONDS, TimeUnit.SECONDS),
        "vrdma counters query");
    counterEndpoints.forEach((id, ref) -> asked.put(id, ref.ask(DriverMessages.COUNTERS_NOW, timeout,
        ClassTag$.MODULE$.apply(DriverMessages.Report.class))));
    asked.forEach((id, answer) -> {
      try {
        accept(timeout.awaitResult(answer));
      } catch (Exception e) { // Spark's RpcTimeoutException or SparkException (checked in Java, unchecked in Scala)
        counterEndpoints.remove(id);
        LOG.info("vRDMA shuffle: executor {} did not answer for its counters ({}); its last report stands", id,
            e.toString());
      }
    });
  }

  private void accept(DriverMessages.Report report) {
    reports.merge(report.executorId(), report, (old, now) -> now.sequence() > old.sequence() ? now : old);
  }

  /**
   * Listens for executor removals once the application's SparkContext is up (it is not yet while SparkEnv starts
   * this endpoint; executors register and readers look peers up only once it is).
   */
  private void listenForExecutorRemovals() {
    if (listening.get()) {
      return;
    }
    scala.Option<org.apache.spark.SparkContext> sc = org.apache.spark.SparkContext$.MODULE$.getActive();
    if (sc.isDefined() && listening.compareAndSet(false, true)) {
      sc.get().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
        @Override
        public void onExecutorRemoved(org.apache.spark.scheduler.SparkListenerExecutorRemoved removed) {
          executorRemoved(removed.executorId(), removed.reason());
        }
      });
    }
  }

  /** Forgets a removed executor's block server and tells every other executor, one-way. */
  void executorRemoved(String executorId, String reason) {
    DriverMessages.PeerAddress gone = peers.remove(executorId);
    counterEndpoints.remove(executorId);
    if (gone == null) {
      return;
    }
    DriverMessages.PeerGone notice = new DriverMessages.PeerGone(executorId, gone.host(), gone.port(), reason);
    counterEndpoints.values().forEach(ref -> ref.send(notice));
    LOG.info("vRDMA shuffle: executor {} ({}:{}) removed ({}); told {} executors", executorId, gone.host(),
        gone.port(), reason, counterEndpoints.size());
  }

  private void registerMetricsSource() {
    if (sourceRegistered.compareAndSet(false, true)) {
      // now, not at start-up: the application id is known, and Spark names the source's metrics after it
      SparkEnv.get().metricsSystem().registerSource(new DriverShuffleSource(this));
    }
  }

  @Override
  public PartialFunction<Object, BoxedUnit> receive() {
    return new AbstractPartialFunction<>() {
      @Override
      public boolean isDefinedAt(Object message) {
        return message instanceof DriverMessages.Report;
      }

      @Override
      // Scala's signature: B1 is a supertype of BoxedUnit, so returning the unit is sound
      @SuppressWarnings("unchecked")
      public <A1, B1> B1 applyOrElse(A1 message, Function1<A1, B1> orElse) {
        if (message instanceof DriverMessages.Report r) {
          accept(r);
          return (B1) BoxedUnit.UNIT;
        }
        return orElse.apply(message);
      }
    };
  }

  @Override
  public PartialFunction<Object, BoxedUnit> receiveAndReply(RpcCallContext context) {
    return new AbstractPartialFunction<>() {
      @Override
      public boolean isDefinedAt(Object message) {
        return message instanceof DriverMessages.Register || message instanceof DriverMessages.Find;
      }

      @Override
      // Scala's signature: B1 is a supertype of BoxedUnit, so returning the unit is sound
      @SuppressWarnings("unchecked")
      public <A1, B1> B1 applyOrElse(A1 message, Function1<A1, B1> orElse) {
        if (message instanceof DriverMessages.Register r) {
          String id = r.address().executorId();
          peers.put(id, r.address());
          // a runtime started afresh in the same executor (local mode) numbers its reports from 1 again
          DriverMessages.Report last = reports.get(id);
          if (last != null) {
            reports.put(id, new DriverMessages.Report(id, 0, last.counters(), last.namespaces()));
          }
          if (r.counters() != null) {
            counterEndpoints.put(id, r.counters());
          }
          registerMetricsSource();
          listenForExecutorRemovals();
          context.reply(Boolean.TRUE);
        } else if (message instanceof DriverMessages.Find f) {
          listenForExecutorRemovals();
          context.reply(DriverMessages.lookupReply(peers.get(f.executorId())));
        } else {
          return orElse.apply(message);
        }
        return (B1) BoxedUnit.UNIT;
      }
    };
  }
}
