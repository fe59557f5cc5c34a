package io.vrdma.transport.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vrdma.transport.Connection;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Registration;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.TransportException.ReadTimeoutException;
import io.vrdma.transport.TransportException.RegionNotFoundException;
import io.vrdma.transport.TransportException.RemoteException;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.testing.Patterns;
import io.vrdma.transport.testing.RemotePeer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every tier must do, whatever moves its bytes. Each tier has a subclass that says how to
 * configure it; the tests force that tier, so a pass proves the tier and not a fallback.
 *
 * <p>Two nodes run in this JVM (server and client) for most tests; the cross-process tests start a
 * {@link io.vrdma.transport.testing.PeerProcess} JVM. After every test both nodes must have every pooled
 * buffer back: a leak fails the test that caused it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class TransportConformanceSuite {
  /** Largest buffer the tests' pools lend, so that "larger than the largest buffer" is reachable. */
  protected static final int MAX_BUFFER = 64 << 20;
  /** The nodes' read timeout; a run under full emulation (the VM bench's TCG guest) raises it. */
  protected static final long READ_TIMEOUT_MS = Long.getLong("vrdma.test.readTimeoutMs", 5_000);

  @TempDir
  protected Path dir;

  protected TransportNode server;
  protected TransportNode client;

  /** The tier under test. */
  protected abstract Tier tier();

  /** Settings that make the tier work in {@code work}, added to the suite's own. */
  protected abstract Map<String, String> tierSettings(Path work);

  /** The full settings of a node of this suite (also given to peer processes). */
  protected Map<String, String> settings() {
    Map<String, String> s = new HashMap<>();
    s.put(TransportConf.HOST.name(), "127.0.0.1");
    s.put(TransportConf.TIERS.name(), tier().configName());
    s.put(TransportConf.READ_TIMEOUT.name(), READ_TIMEOUT_MS + "ms");
    // a cold peer JVM under emulation on a loaded machine may answer its first handshake late (VM bench)
    s.put(TransportConf.CONNECT_TIMEOUT.name(), Long.getLong("vrdma.test.connectTimeoutMs", 10_000) + "ms");
    s.put(TransportConf.POOL_MAX_BUFFER.name(), Integer.toString(MAX_BUFFER));
    s.put(TransportConf.POOL_MAX_BYTES.name(), "1g");
    s.put(TransportConf.POOL_LEAK_DETECTION.name(), "true");
    s.putAll(tierSettings(dir));
    return s;
  }

  @BeforeEach
  void startNodes() throws Exception {
    TransportConf conf = TransportConf.fromMap(settings());
    server = TransportNode.start(conf);
    client = TransportNode.start(conf);
    assertTrue(server.has(tier()), () -> tier() + " unavailable: " + server.availability());
  }

  @AfterEach
  void stopNodesAndCheckLeaks() {
    String clientLeaks = client == null ? "" : client.bufferPool().leakReport();
    String serverLeaks = server == null ? "" : server.bufferPool().leakReport();
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
    assertEquals("", clientLeaks, "client leaked pooled buffers");
    assertEquals("", serverLeaks, "server leaked pooled buffers");
  }

  private Connection connect() throws TransportException {
    Connection c = client.connect(server.advertisement());
    assertEquals(tier(), c.tier(), "the forced tier was not chosen");
    return c;
  }

  private Registration registerFile(long seed, long length) throws Exception {
    Path file = Patterns.writeFile(dir.resolve("region-" + seed), seed, 13, length);
    Registration r = server.register(RegionSource.fileSegment(file, 13, length));
    assertTrue(r.descriptor(tier()).isPresent(), "region not registered on " + tier());
    return r;
  }

  /** Reads [offset, offset+length) of a region and checks every byte against its pattern. */
  private void readAndCheck(Connection c, RegionDescriptor d, long seed, long offset, int length) throws Exception {
    int pad = length + 3 <= MAX_BUFFER ? 3 : 0; // an odd destination offset where the buffer allows
    try (PooledBuffer buf = client.bufferPool().acquire(Math.max(1, length + pad))) {
      c.read(d, offset, length, buf, pad).get(30, TimeUnit.SECONDS);
      assertNull(Patterns.mismatch(seed, offset, buf.nioBuffer(), pad, length));
    }
  }

  private static Throwable failureOf(CompletableFuture<?> f) throws Exception {
    try {
      f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    }
    return fail("expected the operation to fail, it succeeded");
  }

  @Test
  void readsSmallAndLargeRegionsAtOddOffsets() throws Exception {
    long[] sizes = {4, 4097, (1 << 20) + 3, 64L << 20};
    try (Connection c = connect()) {
      for (int i = 0; i < sizes.length; i++) {
        long size = sizes[i];
        try (Registration r = registerFile(i, size)) {
          RegionDescriptor d = r.descriptor(tier()).orElseThrow();
          assertEquals(size, d.length());
          readAndCheck(c, d, i, 0, (int) size);
          readAndCheck(c, d, i, 1, (int) Math.min(size - 1, 4093));
          readAndCheck(c, d, i, size - 1, 1);
          readAndCheck(c, d, i, size / 3, (int) (size / 3));
          readAndCheck(c, d, i, size, 0);
        }
      }
    }
  }

  @Test
  void readsBufferRegions() throws Exception {
    ByteBuffer data = Patterns.buffer(77, 300_001);
    try (Connection c = connect(); Registration r = server.register(RegionSource.buffer(data))) {
      readAndCheck(c, r.descriptor(tier()).orElseThrow(), 77, 12_345, 200_000);
    }
  }

  @Test
  void readsRegionLargerThanLargestBufferInPieces() throws Exception {
    long size = MAX_BUFFER + 12_345L;
    try (Connection c = connect(); Registration r = registerFile(5, size)) {
      RegionDescriptor d = r.descriptor(tier()).orElseThrow();
      int piece = 7 << 20;
      for (long off = 0; off < size; off += piece) {
        readAndCheck(c, d, 5, off, (int) Math.min(piece, size - off));
      }
      assertThrows(IllegalArgumentException.class, () -> client.bufferPool().acquire((int) Math.min(size, Integer.MAX_VALUE)));
    }
  }

  @Test
  void manyConcurrentReadsFromManyThreadsAllComplete() throws Exception {
    int regions = 4;
    List<Registration> regs = new ArrayList<>();
    try (Connection c = connect()) {
      for (int i = 0; i < regions; i++) {
        regs.add(registerFile(100 + i, 1 << 20));
      }
      int threads = 4;
      int readsPerThread = 200;
      AtomicInteger checked = new AtomicInteger();
      List<CompletableFuture<Void>> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        workers.add(CompletableFuture.runAsync(() -> {
          List<CompletableFuture<Void>> inFlight = new ArrayList<>();
          List<PooledBuffer> buffers = new ArrayList<>();
          List<long[]> expected = new ArrayList<>();
          try {
            for (int k = 0; k < readsPerThread; k++) {
              int region = (thread + k) % regions;
              long offset = (k * 7919L) % ((1 << 20) - 8192);
              int length = 1 + (k * 131) % 8191;
              PooledBuffer buf = client.bufferPool().acquire(length);
              buffers.add(buf);
              expected.add(new long[] {100 + region, offset, length});
              inFlight.add(c.read(regs.get(region).descriptor(tier()).orElseThrow(), offset, length, buf, 0));
            }
            for (int k = 0; k < inFlight.size(); k++) {
              inFlight.get(k).get(30, TimeUnit.SECONDS);
              long[] e = expected.get(k);
              String bad = Patterns.mismatch(e[0], e[1], buffers.get(k).nioBuffer(), 0, (int) e[2]);
              if (bad != null) {
                throw new AssertionError(bad);
              }
              checked.incrementAndGet();
            }
          } catch (Exception e) {
            throw new IllegalStateException(e);
          } finally {
            buffers.forEach(PooledBuffer::release);
          }
        }));
      }
      CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      assertEquals(threads * readsPerThread, checked.get());
    } finally {
      regs.forEach(Registration::close);
    }
  }

  @Test
  void readOfUnregisteredRegionFailsCleanlyAndConnectionServesOn() throws Exception {
    try (Connection c = connect(); Registration r = registerFile(1, 10_000);
        PooledBuffer buf = client.bufferPool().acquire(100)) {
      RegionDescriptor real = r.descriptor(tier()).orElseThrow();
      RegionDescriptor unknown = new RegionDescriptor(tier(), real.owner(), real.address(), real.key() ^ 0x5555L,
          real.length());
      Throwable failure = failureOf(c.read(unknown, 0, 100, buf, 0));
      assertInstanceOf(RegionNotFoundException.class, failure, failure::toString);
      readAndCheck(c, real, 1, 0, 10_000);
    }
  }

  /** Zero-copy views are a tier's option: a tier without them must say so the same way every time. */
  protected boolean offersViews() {
    return false;
  }

  @Test
  void viewsShowTheRegisteredBytesOrAreAbsentOnTiersThatCopy() throws Exception {
    try (Connection c = connect(); Registration r = registerFile(5, (1 << 20) + 7)) {
      RegionDescriptor d = r.descriptor(tier()).orElseThrow();
      java.util.Optional<io.vrdma.transport.RegionView> view = c.view(d, 4099, 70_001);
      assertEquals(offersViews(), view.isPresent(), "tier " + tier() + " views");
      if (view.isPresent()) {
        assertEquals(70_001, view.get().length());
        assertNull(Patterns.mismatch(5, 4099, view.get().buffer(), 0, 70_001));
        view.get().checkValid();
        assertTrue(view.get().buffer().isReadOnly(), "a view must not let a reader write a peer's region");
      }
      assertInstanceOf(InvalidDescriptorException.class,
          assertThrows(TransportException.class, () -> c.view(d, d.length() - 10, 11)));
    }
  }

  @Test
  void aViewOfARegionFreedWhileInUseFailsItsCheck() throws Exception {
    try (Connection c = connect()) {
      Registration r = registerFile(6, 100_000);
      RegionDescriptor d = r.descriptor(tier()).orElseThrow();
      java.util.Optional<io.vrdma.transport.RegionView> view = c.view(d, 0, 100_000);
      r.close();
      if (view.isPresent()) {
        assertInstanceOf(RegionNotFoundException.class, assertThrows(TransportException.class,
            () -> view.get().checkValid()));
        assertInstanceOf(RegionNotFoundException.class, assertThrows(TransportException.class,
            () -> c.view(d, 0, 100)));
      }
    }
  }

  @Test
  void readOfFreedRegionFails() throws Exception {
    try (Connection c = connect(); PooledBuffer buf = client.bufferPool().acquire(100)) {
      Registration r = registerFile(2, 10_000);
      RegionDescriptor d = r.descriptor(tier()).orElseThrow();
      readAndCheck(c, d, 2, 0, 100);
      r.close();
      Throwable failure = failureOf(c.read(d, 0, 100, buf, 0));
      assertInstanceOf(RegionNotFoundException.class, failure, failure::toString);
    }
  }

  @Test
  void readsOutsideTheRegionAreRefused() throws Exception {
    try (Connection c = connect(); Registration r = registerFile(3, 10_000);
        PooledBuffer buf = client.bufferPool().acquire(100)) {
      RegionDescriptor d = r.descriptor(tier()).orElseThrow();
      assertInstanceOf(InvalidDescriptorException.class, failureOf(c.read(d, 9_950, 100, buf, 0)));
      assertInstanceOf(InvalidDescriptorException.class, failureOf(c.read(d, -1, 10, buf, 0)));
      RegionDescriptor stretched = new RegionDescriptor(tier(), d.owner(), d.address(), d.key(), 1L << 40);
      Throwable failure = failureOf(c.read(stretched, (1L << 40) - 100, 100, buf, 0));
      assertTrue(failure instanceof InvalidDescriptorException || failure instanceof RegionNotFoundException,
          failure::toString);
      readAndCheck(c, d, 3, 9_900, 100);
    }
  }

  @Test
  void forgedDescriptorsAreRefused() throws Exception {
    try (Connection c = connect(); Registration r = registerFile(4, 100_000);
        PooledBuffer buf = client.bufferPool().acquire(100)) {
      RegionDescriptor d = r.descriptor(tier()).orElseThrow();
      List<RegionDescriptor> forged = List.of(
          new RegionDescriptor(tier(), d.owner(), Long.MAX_VALUE - 10, d.key(), 100),
          new RegionDescriptor(tier(), d.owner(), -4096, d.key(), 100),
          new RegionDescriptor(tier(), d.owner() + 1, d.address(), d.key(), d.length()),
          new RegionDescriptor(tier(), d.owner(), d.address() + 4096, d.key(), d.length()));
      for (RegionDescriptor f : forged) {
        CompletableFuture<Void> read = c.read(f, 0, 100, buf, 0);
        Throwable failure;
        try {
          read.get(30, TimeUnit.SECONDS);
          // a forged address inside the owner's own region may read the owner's bytes, never another's
          assertTrue(f.address() != d.address() && f.owner() == d.owner() && f.key() == d.key(),
              "forged descriptor " + f + " was served");
          continue;
        } catch (ExecutionException e) {
          failure = e.getCause();
        }
        assertTrue(failure instanceof InvalidDescriptorException || failure instanceof RegionNotFoundException,
            () -> f + " failed with " + failure);
      }
      readAndCheck(c, d, 4, 0, 100);
    }
  }

  @Test
  void descriptorOfATierTheConnectionLacksIsRefused() throws Exception {
    Tier other = tier() == Tier.TCP ? Tier.SHM : Tier.TCP;
    try (Connection c = connect(); PooledBuffer buf = client.bufferPool().acquire(100)) {
      Throwable failure = failureOf(c.read(new RegionDescriptor(other, 1, 0, 1, 100), 0, 100, buf, 0));
      assertInstanceOf(InvalidDescriptorException.class, failure);
    }
  }

  @Test
  void controlRequestsGetAnswersAndHandlerErrors() throws Exception {
    server.setControlHandler((peer, request) -> {
      String text = StandardCharsets.UTF_8.decode(request).toString();
      if (text.equals("fail")) {
        throw new IllegalStateException("asked to fail");
      }
      peer.attributes().merge("count", 1, (a, b) -> (Integer) a + (Integer) b);
      return CompletableFuture.completedFuture(StandardCharsets.UTF_8.encode(text.toUpperCase() + peer.attributes().get("count")));
    });
    try (Connection c = connect()) {
      assertEquals("HELLO1", StandardCharsets.UTF_8.decode(c.request(StandardCharsets.UTF_8.encode("hello"))
          .get(10, TimeUnit.SECONDS)).toString());
      assertEquals("AGAIN2", StandardCharsets.UTF_8.decode(c.request(StandardCharsets.UTF_8.encode("again"))
          .get(10, TimeUnit.SECONDS)).toString());
      Throwable failure = failureOf(c.request(StandardCharsets.UTF_8.encode("fail")));
      assertInstanceOf(RemoteException.class, failure);
      assertTrue(failure.getMessage().contains("asked to fail"), failure.getMessage());
      assertTrue(c.isActive());
    }
  }

  @Test
  void readsBetweenTwoProcesses() throws Exception {
    long[] sizes = {4, 65_537, 8L << 20};
    try (RemotePeer peer = RemotePeer.start(dir, settings(), sizes);
        Connection c = client.connect(peer.advertisement())) {
      assertEquals(tier(), c.tier());
      List<RegionDescriptor> regions = peer.regions(tier());
      assertEquals(sizes.length, regions.size(), "peer registered its regions on " + tier());
      for (int i = 0; i < sizes.length; i++) {
        readAndCheck(c, regions.get(i), i, 0, (int) sizes[i]);
        readAndCheck(c, regions.get(i), i, sizes[i] / 2, (int) (sizes[i] / 2));
      }
      ByteBuffer echo = c.request(ByteBuffer.wrap(new byte[] {1, 2, 3})).get(10, TimeUnit.SECONDS);
      assertEquals(ByteBuffer.wrap(new byte[] {1, 2, 3}), echo);
    }
  }

  @Test
  void peerThatDiesMidReadFailsReadsWithinTheTimeout() throws Exception {
    long size = 16L << 20;
    try (RemotePeer peer = RemotePeer.start(dir, settings(), size);
        Connection c = client.connect(peer.advertisement())) {
      RegionDescriptor d = peer.regions(tier()).get(0);
      List<CompletableFuture<Void>> reads = new ArrayList<>();
      List<PooledBuffer> buffers = new ArrayList<>();
      try {
        for (int i = 0; i < 64; i++) {
          PooledBuffer buf = client.bufferPool().acquire(1 << 20);
          buffers.add(buf);
          reads.add(c.read(d, (i % 16) * (1L << 20), 1 << 20, buf, 0));
          if (i == 8) {
            peer.kill();
          }
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READ_TIMEOUT_MS + 5_000);
        int failed = 0;
        for (int i = 0; i < reads.size(); i++) {
          try {
            reads.get(i).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            assertNull(Patterns.mismatch(0, (i % 16) * (1L << 20), buffers.get(i).nioBuffer(), 0, 1 << 20),
                "a read that succeeded must carry the right bytes");
          } catch (TimeoutException e) {
            fail("read " + i + " neither completed nor failed within the timeout");
          } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            assertTrue(cause instanceof PeerUnavailableException || cause instanceof ReadTimeoutException
                || cause instanceof RegionNotFoundException, cause::toString);
            failed++;
          }
        }
        assertTrue(failed > 0, "reads issued after the peer died cannot all succeed");
        assertFalse(c.isActive(), "the connection notices that its peer is gone");
      } finally {
        buffers.forEach(PooledBuffer::release);
      }
    }
  }
}
