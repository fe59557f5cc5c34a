package io.vrdma.block.client;

import io.vrdma.block.BlockException.AuthenticationException;
import io.vrdma.block.BlockException.PeerGoneException;
import io.vrdma.block.protocol.ChannelEncryption;
import io.vrdma.transport.Connection;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportNode;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The client's connection to one peer, remade when it breaks, with the namespaces it has proven. Connecting and
 * proving wait on the network, so they run on the client's connect threads, one step at a time per peer (steps
 * are chained); a caller gets a future and never waits. A peer {@linkplain #markGone() declared gone} fails every
 * later step at once.
 */
final class PeerSession {
  private final TransportNode node;
  private final String host;
  private final int port;
  private final Executor connects;
  private final Set<String> authenticated = ConcurrentHashMap.newKeySet();
  private volatile Connection connection;
  private volatile String goneReason;
  /** The last step queued for this peer: the next one starts after it, whatever its outcome. */
  private CompletableFuture<?> tail = CompletableFuture.completedFuture(null);

  PeerSession(TransportNode node, String host, int port, Executor connects) {
    this.node = node;
    this.host = host;
    this.port = port;
    this.connects = connects;
  }

  String key() {
    return host + ":" + port;
  }

  /**
   * A live connection, authenticated for {@code namespace} when a secret is given: at once when there is one,
   * else after a connect (and proof) on a connect thread.
   */
  CompletableFuture<Connection> ready(String namespace, byte[] secret) {
    Connection c = connection;
    if (goneReason != null) {
      return CompletableFuture.failedFuture(gone());
    }
    if (c != null && c.isActive() && (secret == null || authenticated.contains(namespace))) {
      return CompletableFuture.completedFuture(c);
    }
    CompletableFuture<Connection> step;
    synchronized (this) {
      step = tail.handleAsync((x, y) -> {
        try {
          return connectAndProve(namespace, secret);
        } catch (TransportException e) {
          throw new CompletionException(e);
        }
      }, connects);
      tail = step;
    }
    return step;
  }

  private Connection connectAndProve(String namespace, byte[] secret) throws TransportException {
    if (goneReason != null) {
      throw gone();
    }
    // before connecting: without a secret there is nothing to key the connection with
    boolean encrypt = node.security().encryptionRequired();
    if (encrypt && secret == null) {
      throw new AuthenticationException("no shared secret to encrypt the connection to " + key() + " with, and"
          + " encryption is required (" + io.vrdma.transport.config.TransportConf.ENCRYPTION_REQUIRED.name()
          + "); its blocks go through the engine's own path", null);
    }
    Connection c = connection;
    if (c == null || !c.isActive()) {
      if (c != null) {
        c.close();
      }
      authenticated.clear();
      c = node.connect(host, port);
      connection = c;
      if (goneReason != null) { // declared gone while connecting
        c.close();
        throw gone();
      }
    }
    if (secret != null && !authenticated.contains(namespace)) {
      Connection proving = c;
      ChannelEncryption.prove(proving, key(), namespace, secret, encrypt, message -> await(proving.request(message)));
      authenticated.add(namespace);
    }
    return c;
  }

  /** From now on every step fails at once; the connection is closed. */
  void markGone(String why) {
    goneReason = why;
    close();
  }

  boolean isGone() {
    return goneReason != null;
  }

  private PeerGoneException gone() {
    return new PeerGoneException("peer " + key() + " is gone (" + goneReason + "); its blocks are not retried");
  }

  /** The current connection, which may have broken since. */
  Connection current() {
    return connection;
  }

  private ByteBuffer await(CompletableFuture<ByteBuffer> answer) throws TransportException {
    long timeout = node.conf().readTimeoutMillis();
    try {
      return answer.get(timeout, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof TransportException te) {
        throw te;
      }
      throw new TransportException("request to " + key() + " failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new TransportException.ReadTimeoutException("no answer from " + key() + " within " + timeout + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TransportException("interrupted waiting for " + key());
    }
  }

  /** A control answer, failed with a {@link TransportException.ReadTimeoutException} after the read timeout. */
  CompletableFuture<ByteBuffer> callAsync(Connection c, ByteBuffer message) {
    long timeout = node.conf().readTimeoutMillis();
    return c.request(message).orTimeout(timeout, TimeUnit.MILLISECONDS).handle((answer, failure) -> {
      if (failure == null) {
        return answer;
      }
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      if (cause instanceof TimeoutException) {
        throw new CompletionException(new TransportException.ReadTimeoutException(
            "no answer from " + key() + " within " + timeout + " ms"));
      }
      throw cause instanceof CompletionException ce ? ce : new CompletionException(cause);
    });
  }

  void close() {
    Connection c = connection;
    if (c != null) {
      c.close();
    }
  }
}
