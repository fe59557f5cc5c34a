package io.vrdma.block.client;

import io.vrdma.block.BlockException.AuthenticationException;
import io.vrdma.block.protocol.ChannelEncryption;
import io.vrdma.transport.Connection;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportNode;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The client's connection to one peer, remade when it breaks, with the namespaces it has proven. */
final class PeerSession {
  private final TransportNode node;
  private final String host;
  private final int port;
  private final Set<String> authenticated = new HashSet<>();
  private Connection connection;

  PeerSession(TransportNode node, String host, int port) {
    this.node = node;
    this.host = host;
    this.port = port;
  }

  String key() {
    return host + ":" + port;
  }

  /** A live connection, authenticated for {@code namespace} when a secret is given; blocks while it connects. */
  synchronized Connection ready(String namespace, byte[] secret) throws TransportException {
    // before connecting: without a secret there is nothing to key the connection with
    boolean encrypt = node.security().encryptionRequired();
    if (encrypt && secret == null) {
      throw new AuthenticationException("no shared secret to encrypt the connection to " + key() + " with, and"
          + " encryption is required (" + io.vrdma.transport.config.TransportConf.ENCRYPTION_REQUIRED.name()
          + "); its blocks go through the engine's own path", null);
    }
    if (connection == null || !connection.isActive()) {
      if (connection != null) {
        connection.close();
      }
      connection = node.connect(host, port);
      authenticated.clear();
    }
    if (secret != null && !authenticated.contains(namespace)) {
      Connection c = connection;
      ChannelEncryption.prove(c, key(), namespace, secret, encrypt, message -> await(c.request(message)));
      authenticated.add(namespace);
    }
    return connection;
  }

  /** The current connection, which may have broken since. */
  synchronized Connection current() {
    return connection;
  }

  private ByteBuffer await(java.util.concurrent.CompletableFuture<ByteBuffer> answer) throws TransportException {
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
  java.util.concurrent.CompletableFuture<ByteBuffer> callAsync(Connection c, ByteBuffer message) {
    long timeout = node.conf().readTimeoutMillis();
    return c.request(message).orTimeout(timeout, TimeUnit.MILLISECONDS).handle((answer, failure) -> {
      if (failure == null) {
        return answer;
      }
      Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      if (cause instanceof TimeoutException) {
        throw new java.util.concurrent.CompletionException(new TransportException.ReadTimeoutException(
            "no answer from " + key() + " within " + timeout + " ms"));
      }
      throw cause instanceof java.util.concurrent.CompletionException ce ? ce
          : new java.util.concurrent.CompletionException(cause);
    });
  }

  /** Waits for a control answer with the read timeout. */
  ByteBuffer call(Connection c, ByteBuffer message) throws TransportException {
    return await(c.request(message));
  }

  synchronized void close() {
    if (connection != null) {
      connection.close();
    }
  }
}
