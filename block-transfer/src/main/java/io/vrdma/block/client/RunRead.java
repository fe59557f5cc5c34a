package io.vrdma.block.client;

import io.vrdma.block.BlockException.BlockNotFoundException;
import io.vrdma.block.BlockException.CorruptBlockException;
import io.vrdma.block.protocol.Messages;
import io.vrdma.block.protocol.Messages.Location;
import io.vrdma.block.protocol.Messages.Placement;
import io.vrdma.block.protocol.Messages.Run;
import io.vrdma.transport.Connection;
import io.vrdma.transport.RegionView;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.RegionNotFoundException;
import io.vrdma.transport.TransportException.ResourceFullException;
import io.vrdma.transport.buffer.PooledBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run's journey: blocks that lie back to back on the peer, read with one read (or one view, in place on
 * shm), cut into its blocks, each block checked against its CRC32C and delivered, and the run's lease given back.
 * The tiers are tried in order; a run that fails on every tier is located again (after a backoff, on a fresh
 * connection when the old one is gone): a staged copy may have been taken back. A block whose checksum does not
 * match is located and fetched alone once more, then reported as corrupt; it is never delivered.
 *
 * <p>Threads: started and finished on the client's work threads; the transport completes a read on its own thread
 * and the rest of the work is handed back to the work threads at once.
 */
final class RunRead {
  private static final Logger LOG = LoggerFactory.getLogger(RunRead.class);

  /** A block of the run: its id and where it lies in the run. */
  record Part(String id, Location location) {}

  private final FetchCall call;
  private final ClientContext client;
  /** The connection the run was located on: the server lent its staged copy to it. */
  private final Connection connection;
  private final Run run;
  private final List<Part> parts;
  private final List<Tier> tiers;
  private final int attempt;
  private final long charge;
  private final AtomicBoolean leaseReturned = new AtomicBoolean();
  private int tierIndex;

  RunRead(FetchCall call, Connection connection, Run run, List<Part> parts, int attempt) {
    this.call = call;
    this.client = call.client;
    this.connection = connection;
    this.run = run;
    this.parts = parts;
    this.attempt = attempt;
    this.tiers = tierOrder();
    this.charge = run.isInline() ? 0 : client.flow().charge(run.length());
  }

  /** The tiers to read over: from the connection's tier down the preference order, where the run lies. */
  private List<Tier> tierOrder() {
    List<Tier> preference = client.node().conf().tiers();
    List<Tier> order = new ArrayList<>();
    for (Tier t : preference.subList(preference.indexOf(connection.tier()), preference.size())) {
      if (run.placements().containsKey(t)) {
        order.add(t);
      }
    }
    return order;
  }

  /** Starts once flow control lets the run's bytes in; an inline run is here already and starts at once. */
  void queue() {
    if (run.isInline()) {
      deliverInline();
      return;
    }
    client.flow().acquire(call.session.key(), charge, this::start);
  }

  /** Cuts the run that came in the answer into its blocks, which share the answer's copy of the bytes. */
  private void deliverInline() {
    List<FetchedBlock> blocks = new ArrayList<>(parts.size());
    for (Part part : parts) {
      blocks.add(new InlineBlock(part.id(), run.inline(), (int) part.location().offset(),
          (int) part.location().length()));
    }
    deliver(parts, blocks, connection.tier());
  }

  private void start() {
    if (run.length() == 0) { // nothing to read, whichever tier it would take
      deliverCopies(null, tierOr(connection.tier()));
      return;
    }
    if (tiers.isEmpty()) {
      failAll(new InvalidDescriptorException("run of " + parts.size() + " blocks is placed on "
          + run.placements().keySet() + ", none of which the connection to " + call.session.key() + " has"));
      return;
    }
    Tier tier = tiers.get(tierIndex);
    Placement place = run.placements().get(tier);
    try {
      java.util.Optional<RegionView> view = client.inPlace() && run.length() <= Integer.MAX_VALUE
          ? connection.view(place.region(), place.offset(), (int) run.length()) : java.util.Optional.empty();
      if (view.isPresent()) {
        deliverViews(view.get(), tier);
      } else if (run.length() <= client.node().bufferPool().maxBufferBytes()) {
        readIntoBuffer(place, tier);
      } else {
        readIntoSpillFile(place, tier);
      }
    } catch (ResourceFullException e) {
      waitForPool(); // the pool is exhausted: wait for a buffer, it is no failure
    } catch (IOException | RuntimeException e) {
      failed(e);
    }
  }

  private Tier tierOr(Tier fallback) {
    return tiers.isEmpty() ? fallback : tiers.get(tierIndex);
  }

  private void waitForPool() {
    client.metrics().waitedForPool();
    client.threads().later(ClientContext.POOL_WAIT_MILLIS, this::start);
  }

  private void readIntoBuffer(Placement place, Tier tier) throws TransportException {
    int length = (int) run.length();
    PooledBuffer buffer = client.node().bufferPool().acquire(Math.max(1, length));
    connection.read(place.region(), place.offset(), length, buffer, 0).whenCompleteAsync((x, failure) -> {
      if (failure != null) {
        buffer.release();
        failed(FetchCall.unwrap(failure));
        return;
      }
      giveLeaseBack(); // copied: the staged bytes are no longer needed
      deliverCopies(buffer, tier);
    }, client.threads().work);
  }

  /** A single block larger than any pooled buffer: read piece by piece into a spill file. */
  private void readIntoSpillFile(Placement place, Tier tier) throws IOException, TransportException {
    Part part = parts.get(0);
    PooledBuffer piece = client.node().bufferPool().acquire(client.node().bufferPool().maxBufferBytes());
    Path file;
    FileChannel out;
    try {
      file = client.spills().create();
      out = FileChannel.open(file, StandardOpenOption.WRITE);
    } catch (IOException | RuntimeException e) {
      piece.release();
      throw e;
    }
    readPieces(place, piece, out, 0).whenCompleteAsync((x, failure) -> {
      piece.release();
      try {
        out.close();
      } catch (IOException e) {
        failure = failure == null ? e : failure;
      }
      if (failure != null) {
        deleteQuietly(file);
        failed(FetchCall.unwrap(failure));
        return;
      }
      giveLeaseBack();
      finish();
      deliver(List.of(part), List.of(new FileBlock(part.id(), file, run.length())), tier);
    }, client.threads().work);
  }

  private CompletableFuture<Void> readPieces(Placement place, PooledBuffer piece, FileChannel out, long done) {
    if (done == run.length()) {
      return CompletableFuture.completedFuture(null);
    }
    int n = (int) Math.min(piece.capacity(), run.length() - done);
    return connection.read(place.region(), place.offset() + done, n, piece, 0).thenComposeAsync(x -> {
      try {
        ByteBuffer bytes = piece.nioBuffer(0, n);
        long at = done;
        while (bytes.hasRemaining()) {
          at += out.write(bytes, at);
        }
      } catch (IOException e) {
        throw new CompletionException(e);
      }
      return readPieces(place, piece, out, done + n);
    }, client.threads().work);
  }

  /**
   * Cuts the run's buffer into its blocks (each holds a reference on it), returns the run's room in flow control,
   * then delivers them; a null buffer: the run is empty.
   */
  private void deliverCopies(PooledBuffer buffer, Tier tier) {
    PooledBuffer shared = buffer;
    try {
      if (shared == null) {
        shared = client.node().bufferPool().acquire(1);
      }
    } catch (ResourceFullException e) {
      failAll(e);
      return;
    }
    List<FetchedBlock> blocks = new ArrayList<>(parts.size());
    for (Part part : parts) {
      blocks.add(new BufferBlock(part.id(), shared.retain(), (int) part.location().offset(),
          (int) part.location().length()));
    }
    shared.release();
    finish();
    deliver(parts, blocks, tier);
  }

  /**
   * Cuts the run's view into its blocks, read in place; the lease goes back when the last of them is released
   * (or failed).
   */
  private void deliverViews(RegionView view, Tier tier) {
    AtomicInteger held = new AtomicInteger(parts.size());
    Runnable oneLess = () -> {
      if (held.decrementAndGet() == 0) {
        giveLeaseBack();
      }
    };
    finish();
    List<FetchedBlock> blocks = new ArrayList<>(parts.size());
    for (Part part : parts) {
      blocks.add(new ViewBlock(part.id(), view, (int) part.location().offset(), (int) part.location().length(),
          oneLess));
    }
    deliver(parts, blocks, tier);
  }

  /**
   * Delivers the run's blocks once their checksums are known: those the locate answer promised (a large run served
   * in place, checksummed by the server while this reader read it) are asked for first, with one CHECKSUMS
   * request on the connection the run was located on.
   */
  private void deliver(List<Part> of, List<FetchedBlock> blocks, Tier tier) {
    List<String> asked = new ArrayList<>();
    for (Part part : of) {
      if (part.location().checksumFollows()) {
        asked.add(part.id());
      }
    }
    if (asked.isEmpty()) {
      deliverChecked(of, blocks, tier);
      return;
    }
    call.session.callAsync(connection, Messages.checksums(call.namespace, asked))
        .whenCompleteAsync((message, failure) -> {
          List<Part> known = new ArrayList<>(of.size());
          try {
            if (failure != null) {
              Throwable cause = FetchCall.unwrap(failure);
              throw cause instanceof TransportException te ? te
                  : new TransportException("checksums from " + call.session.key() + " failed: " + cause, cause);
            }
            Integer[] crcs = Messages.decodeChecksumsAnswer(message, asked.size());
            int k = 0;
            for (Part part : of) {
              if (!part.location().checksumFollows()) {
                known.add(part);
                continue;
              }
              Integer crc = crcs[k++];
              if (crc == null) {
                throw new TransportException("block " + part.id() + " is no longer served by " + call.session.key()
                    + ": its checksum did not follow");
              }
              known.add(new Part(part.id(), part.location().withChecksum(crc)));
            }
          } catch (TransportException e) {
            blocks.forEach(FetchedBlock::release); // never delivered unchecked
            call.retryOrFail(of.stream().map(Part::id).toList(), attempt, e);
            return;
          }
          deliverChecked(known, blocks, tier);
        }, client.threads().work);
  }

  /** Checks each block and hands the intact ones to the listener as one run; the others are dealt with alone. */
  private void deliverChecked(List<Part> of, List<FetchedBlock> blocks, Tier tier) {
    List<String> ids = new ArrayList<>(of.size());
    List<FetchedBlock> intact = new ArrayList<>(of.size());
    for (int i = 0; i < of.size(); i++) {
      if (verified(of.get(i), blocks.get(i), tier)) {
        ids.add(of.get(i).id());
        intact.add(blocks.get(i));
      }
    }
    if (!ids.isEmpty()) {
      call.succeed(ids, intact);
    }
  }

  /** Whether the block is intact; if not it is released, and fetched again or reported. */
  private boolean verified(Part part, FetchedBlock block, Tier tier) {
    if (block instanceof InlineBlock) {
      client.metrics().deliveredInline(part.location().length());
    }
    Integer expected = part.location().checksum();
    if (expected != null) {
      int actual;
      try {
        actual = crc32c(block);
        if (block instanceof ViewBlock inPlace) {
          inPlace.checkStillValid(); // the checksummed bytes were the block's all along
        }
      } catch (IOException e) {
        block.release();
        retryAlone(part, new TransportException(e.getMessage(), e));
        return false;
      }
      if (actual != expected) {
        block.release();
        CorruptBlockException corrupt = new CorruptBlockException("block " + part.id() + " from "
            + call.session.key() + " over " + tier.configName() + " has CRC32C " + Integer.toHexString(actual)
            + ", expected " + Integer.toHexString(expected));
        if (!call.mayRefetchCorrupt(part.id())) {
          call.fail(part.id(), corrupt);
          return false;
        }
        client.metrics().refetchedCorrupt();
        LOG.warn("{}; fetching it again", corrupt.getMessage());
        call.start(List.of(part.id()), attempt);
        return false;
      }
    }
    client.metrics().delivered(tier, part.location().length());
    return true;
  }

  /** One block of the run could not be used (its in-place bytes changed): locate it again, alone. */
  private void retryAlone(Part part, TransportException cause) {
    call.retryOrFail(List.of(part.id()), attempt, cause);
  }

  private void failed(Throwable cause) {
    if (tierIndex + 1 < tiers.size()) {
      LOG.info("run of {} blocks ({} bytes) failed on {} ({}); falling back to {}", parts.size(), run.length(),
          tiers.get(tierIndex).configName(), cause.getMessage(), tiers.get(tierIndex + 1).configName());
      client.metrics().fellBack();
      tierIndex++;
      start();
      return;
    }
    boolean gone = cause instanceof RegionNotFoundException || cause instanceof InvalidDescriptorException;
    giveLeaseBack();
    finish();
    List<String> ids = parts.stream().map(Part::id).toList();
    // a staged copy that is gone was taken back (its lease expired, the connection broke): locate it again
    if (gone && run.lease() == 0) {
      ids.forEach(id -> call.fail(id, new BlockNotFoundException("block " + id + " is no longer served by "
          + call.session.key() + ": " + cause.getMessage())));
      return;
    }
    call.retryOrFail(ids, attempt, cause instanceof TransportException te ? te
        : new TransportException("read from " + call.session.key() + " failed: " + cause, cause));
  }

  private void failAll(TransportException cause) {
    giveLeaseBack();
    finish();
    call.failAll(parts.stream().map(Part::id).toList(), cause);
  }

  /** Returns the run's room in flow control: the bytes are delivered (or failed). */
  private void finish() {
    if (run.isInline()) {
      return; // an inline run never took room in flow control
    }
    client.flow().release(call.session.key(), charge);
  }

  /** Tells the server it may reuse the run's staged space; once, whoever calls. */
  private void giveLeaseBack() {
    if (leaseReturned.compareAndSet(false, true)) {
      client.leases().giveBack(connection, run.lease());
    }
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warn("cannot delete spill file {}: {}", file, e.toString());
    }
  }

  static int crc32c(FetchedBlock block) throws IOException {
    CRC32C crc = new CRC32C();
    if (block instanceof SliceBlock || block instanceof ViewBlock) {
      crc.update(block instanceof ViewBlock v ? v.bytesUnchecked() : block.nioByteBuffer());
    } else {
      try (var in = block.createInputStream()) {
        byte[] chunk = new byte[1 << 16];
        int n;
        while ((n = in.read(chunk)) > 0) {
          crc.update(chunk, 0, n);
        }
      }
    }
    return (int) crc.getValue();
  }
}
