package io.vrdma.block.client;

import io.vrdma.block.BlockConf;
import io.vrdma.block.BlockException;
import io.vrdma.block.BlockException.BlockNotFoundException;
import io.vrdma.block.protocol.Messages;
import io.vrdma.block.protocol.Messages.LocateAnswer;
import io.vrdma.block.protocol.Messages.Location;
import io.vrdma.block.server.UnknownNamespaceException;
import io.vrdma.transport.Connection;
import io.vrdma.transport.TransportException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One call of {@link BlockClient#fetch}: its blocks, its listener, and the count of blocks not yet reported. It
 * locates the ids batch by batch and starts one {@link RunRead} per run of each answer; blocks the server could not
 * place in its window yet (deferred) are asked for again at once, so the window is refilled while the reader works
 * on what it has. Everything here runs on the client's work threads.
 */
final class FetchCall {
  private static final Logger LOG = LoggerFactory.getLogger(FetchCall.class);

  final ClientContext client;
  final PeerSession session;
  final String namespace;
  private final byte[] secret;
  private final BlockFetchListener listener;
  private final AtomicInteger outstanding;
  /** Ids fetched again once after a checksum mismatch: a second mismatch is reported. */
  private final Set<String> refetchedCorrupt = ConcurrentHashMap.newKeySet();
  final CompletableFuture<Void> done = new CompletableFuture<>();

  FetchCall(ClientContext client, PeerSession session, String namespace, byte[] secret, BlockFetchListener listener,
      int blocks) {
    this.client = client;
    this.session = session;
    this.namespace = namespace;
    this.secret = secret == null ? null : secret.clone();
    this.listener = listener;
    this.outstanding = new AtomicInteger(blocks);
    if (blocks == 0) {
      done.complete(null);
    }
  }

  /** Gets a ready connection to the peer (without waiting on this thread), then locates {@code ids} on it. */
  void start(List<String> ids, int attempt) {
    session.ready(namespace, secret).whenCompleteAsync((connection, failure) -> {
      if (failure != null) {
        retryOrFail(ids, attempt, asTransportException(failure));
        return;
      }
      int batchSize = (int) (long) client.conf().get(BlockConf.LOCATE_BATCH);
      for (int from = 0; from < ids.size(); from += batchSize) {
        locate(connection, List.copyOf(ids.subList(from, Math.min(ids.size(), from + batchSize))), attempt);
      }
    }, client.threads().work);
  }

  private void locate(Connection connection, List<String> batch, int attempt) {
    session.callAsync(connection, Messages.locate(namespace, connection.tier(), client.maxRunBytes(),
        client.maxInlineBytes(), batch))
        .whenCompleteAsync((message, failure) -> {
          LocateAnswer answer;
          try {
            if (failure != null) {
              throw asTransportException(failure);
            }
            answer = Messages.decodeLocateAnswer(message, batch.size());
          } catch (TransportException e) {
            retryOrFail(batch, attempt, e);
            return;
          }
          List<String> deferred = new ArrayList<>();
          List<String> notFound = new ArrayList<>();
          List<List<RunRead.Part>> partsOfRun = new ArrayList<>(answer.runs().size());
          answer.runs().forEach(r -> partsOfRun.add(new ArrayList<>()));
          for (int i = 0; i < batch.size(); i++) {
            String id = batch.get(i);
            Location location = answer.blocks().get(i);
            if (location == null) {
              notFound.add(id);
            } else if (location.deferred()) {
              deferred.add(id);
            } else {
              partsOfRun.get(location.run()).add(new RunRead.Part(id, location));
            }
          }
          if (!notFound.isEmpty()) {
            // one call for all of them: a namespace the peer does not serve (answered so without authentication)
            // leaves every block of the batch unplaced, and the listener hands them on together
            failAll(notFound, new BlockNotFoundException((notFound.size() == 1 ? "block " + notFound.get(0) + " is"
                : notFound.size() + " blocks (" + notFound.get(0) + "..) are") + " not published in namespace "
                + namespace + " on " + session.key()));
          }
          for (int r = 0; r < partsOfRun.size(); r++) {
            if (!partsOfRun.get(r).isEmpty()) {
              new RunRead(this, connection, answer.runs().get(r), partsOfRun.get(r), attempt).queue();
            }
          }
          if (!deferred.isEmpty()) {
            client.metrics().deferred(deferred.size());
            locate(connection, deferred, attempt);
          }
        }, client.threads().work);
  }

  /**
   * Locates {@code ids} again after a backoff, or reports them failed once the retries are used up. A peer that
   * answers that it does not serve the namespace is not asked again: its blocks fail at once, in one call.
   */
  void retryOrFail(List<String> ids, int attempt, TransportException e) {
    if (unknownNamespace(e)) {
      UnknownNamespaceException refused = new UnknownNamespaceException(namespace);
      refused.initCause(e);
      failAll(ids, refused);
      return;
    }
    if (attempt < client.conf().get(BlockConf.MAX_RETRIES) && !(e instanceof BlockException)) {
      client.metrics().retried();
      List<String> rest = List.copyOf(ids);
      client.threads().later(client.backoff(attempt + 1), () -> start(rest, attempt + 1));
    } else {
      failAll(ids, e);
    }
  }

  /** Reports blocks that failed together, in one call to the listener. */
  void failAll(List<String> ids, Throwable cause) {
    if (ids.size() == 1) {
      fail(ids.get(0), cause);
      return;
    }
    ids.forEach(id -> client.metrics().failed());
    try {
      listener.onBlocksFailed(List.copyOf(ids), cause);
    } catch (RuntimeException e) {
      LOG.warn("listener failed on the failure of blocks {}..: {}", ids.get(0), e.toString());
    }
    if (outstanding.addAndGet(-ids.size()) == 0) {
      done.complete(null);
    }
  }

  /** Whether {@code id} may be fetched again after a checksum mismatch (once). */
  boolean mayRefetchCorrupt(String id) {
    return refetchedCorrupt.add(id);
  }

  /** Delivers the intact blocks of one run, in the order they lay. */
  void succeed(List<String> ids, List<FetchedBlock> blocks) {
    try {
      listener.onRunFetched(ids, blocks);
    } catch (RuntimeException e) {
      LOG.warn("listener failed on blocks {}..: {}", ids.get(0), e.toString());
    }
    if (outstanding.addAndGet(-ids.size()) == 0) {
      done.complete(null);
    }
  }

  void fail(String id, Throwable cause) {
    client.metrics().failed();
    try {
      listener.onBlockFetchFailure(id, cause);
    } catch (RuntimeException e) {
      LOG.warn("listener failed on the failure of block {}: {}", id, e.toString());
    }
    countDown();
  }

  private void countDown() {
    if (outstanding.decrementAndGet() == 0) {
      done.complete(null);
    }
  }

  private TransportException asTransportException(Throwable failure) {
    Throwable cause = unwrap(failure);
    return cause instanceof TransportException te ? te
        : new TransportException("fetch from " + session.key() + " failed: " + cause, cause);
  }

  /**
   * Whether the peer refused a request because it does not serve the namespace: its error answer (or the failed
   * proof wrapping it) carries {@link UnknownNamespaceException#MESSAGE_PREFIX}. Retrying cannot help: the
   * blocks are not there (a reader sent to the wrong executor, or the shuffle was dropped).
   */
  static boolean unknownNamespace(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof UnknownNamespaceException || (t instanceof TransportException.RemoteException
          && String.valueOf(t.getMessage()).contains(UnknownNamespaceException.MESSAGE_PREFIX))) {
        return true;
      }
    }
    return false;
  }

  static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }
}
