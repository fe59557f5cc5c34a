package io.vrdma.spark;

import java.util.function.Supplier;
import org.apache.spark.rpc.RpcCallContext;
import org.apache.spark.rpc.RpcEndpoint;
import org.apache.spark.rpc.RpcEnv;
import scala.Function1;
import scala.PartialFunction;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;

/**
 * The driver's line to an executor: one-way {@link DriverMessages.PeerGone} notices (another executor was
 * removed), and the answer to {@link DriverMessages#COUNTERS_NOW}: the executor's counters and namespaces at this
 * moment. Executors push their counters to the driver only periodically (never a blocking call per task), so the
 * driver asks here when it needs them exact, e.g. right after a job ({@link VrdmaDriverEndpoint#total}).
 */
final class ExecutorCountersEndpoint implements RpcEndpoint {
  /** Name of the endpoint in the executor's RPC environment. */
  static final String NAME = "vrdma-shuffle-counters";

  private final RpcEnv rpcEnv;
  private final Supplier<DriverMessages.Report> report;
  private final java.util.function.Consumer<DriverMessages.PeerGone> peerGone;

  ExecutorCountersEndpoint(RpcEnv rpcEnv, Supplier<DriverMessages.Report> report,
      java.util.function.Consumer<DriverMessages.PeerGone> peerGone) {
    this.rpcEnv = rpcEnv;
    this.report = report;
    this.peerGone = peerGone;
  }

  @Override
  public PartialFunction<Object, BoxedUnit> receive() {
    return new AbstractPartialFunction<>() {
      @Override
      public boolean isDefinedAt(Object message) {
        return message instanceof DriverMessages.PeerGone;
      }

      @Override
      // Scala's signature: B1 is a supertype of BoxedUnit, so returning the unit is sound
      @SuppressWarnings("unchecked")
      public <A1, B1> B1 applyOrElse(A1 message, Function1<A1, B1> orElse) {
        if (!(message instanceof DriverMessages.PeerGone gone)) {
          return orElse.apply(message);
        }
        peerGone.accept(gone);
        return (B1) BoxedUnit.UNIT;
      }
    };
  }

  @Override
  public RpcEnv rpcEnv() {
    return rpcEnv;
  }

  @Override
  public PartialFunction<Object, BoxedUnit> receiveAndReply(RpcCallContext context) {
    return new AbstractPartialFunction<>() {
      @Override
      public boolean isDefinedAt(Object message) {
        return DriverMessages.COUNTERS_NOW.equals(message);
      }

      @Override
      // Scala's signature: B1 is a supertype of BoxedUnit, so returning the unit is sound
      @SuppressWarnings("unchecked")
      public <A1, B1> B1 applyOrElse(A1 message, Function1<A1, B1> orElse) {
        if (!DriverMessages.COUNTERS_NOW.equals(message)) {
          return orElse.apply(message);
        }
        context.reply(report.get());
        return (B1) BoxedUnit.UNIT;
      }
    };
  }
}
