package io.vrdma.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.PooledByteBufAllocator;
import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import io.vrdma.block.protocol.Messages;
import io.vrdma.block.protocol.SecretProof;
import io.vrdma.block.server.BlockServer;
import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportNode;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.tcp.Frames;
import io.vrdma.transport.testing.Patterns;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Throws at least {@value #DEFAULT_FRAMES} random and mutated frames (system property {@code vrdma.fuzz.frames})
 * from a seeded generator (system property {@code vrdma.fuzz.seed}; the seed is printed, and every failure
 * message carries it, so a failure replays) at a live block server over real loopback sockets, then checks
 * that the server still serves correct blocks to a good client, that every bad frame cost only its own
 * connection (closed by the server with a one-line log message, never a stack trace), and that no
 * threads, file descriptors, heap or direct memory leaked.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class BlockServerFuzzTest {
  private static final int DEFAULT_FRAMES = 100_000;
  private static final long BASE_SEED = Long.getLong("vrdma.fuzz.seed", new SecureRandom().nextLong());
  private static final int FRAMES = Integer.getInteger("vrdma.fuzz.frames", DEFAULT_FRAMES);
  private static final int MAX_FRAME = 64 * 1024;
  private static final long PATTERN_SEED = 0x5EED;
  private static final String NS1 = "app-1/shuffle-0";
  private static final String NS2 = "app-2/shuffle-7";
  private static final byte[] SECRET1 = "secret of the first application".getBytes(StandardCharsets.UTF_8);
  private static final byte[] SECRET2 = "secret of the second application".getBytes(StandardCharsets.UTF_8);
  /** Connections left open after their last frame, waiting for the server to close them. */
  private static final int MAX_PENDING = 256;
  private static final long PENDING_MILLIS = 1500;
  /**
   * Heap the server may keep after the fuzz (after a full GC): it keeps no per-connection state once a
   * connection is closed, so what remains is GC imprecision, JIT and logging buffers. 64 MiB is far
   * below what 100,000 frames would leave if each kept even one small object (a leak of a decoded
   * 64 KiB frame per closed connection would exceed it after 1,000 connections).
   */
  private static final long MAX_HEAP_GROWTH = 64L << 20;
  /**
   * Netty's pooled direct memory: at most a 64 KiB cumulation per open connection (at most
   * {@value #MAX_PENDING} + 1 of ours) plus chunk granularity; a leak of frame buffers would grow with
   * the frame count instead.
   */
  private static final long MAX_DIRECT_GROWTH = 64L << 20;

  @TempDir
  Path dir;

  @Test
  void fuzzedFramesCloseOnlyTheirConnectionAndServerStillServesCorrectBlocksWithoutAuthentication() throws Exception {
    fuzzThenFetch(false, BASE_SEED);
  }

  @Test
  void fuzzedFramesCloseOnlyTheirConnectionAndServerStillServesCorrectBlocksOnlyToProvenSecretsWithAuthentication()
      throws Exception {
    fuzzThenFetch(true, BASE_SEED ^ 0x5DEECE66DL);
  }

  private static TransportConf transportConf() {
    return TransportConf.fromMap(Map.of(
        TransportConf.HOST.name(), "127.0.0.1",
        TransportConf.TIERS.name(), "tcp",
        TransportConf.TCP_MAX_FRAME.name(), "64k",
        TransportConf.READ_TIMEOUT.name(), "10s"));
  }

  /** Blocks published by the test, per namespace: id → segment of its pattern file. */
  private static final class Published {
    final String namespace;
    final byte[] secret;
    final Path file;
    final Map<String, BlockSegment> blocks = new LinkedHashMap<>();
    /** The tcp registration key and length of the namespace's region, learnt by a locate. */
    long key;
    long regionLength;

    Published(String namespace, byte[] secret, Path file) {
      this.namespace = namespace;
      this.secret = secret;
      this.file = file;
    }
  }

  private void fuzzThenFetch(boolean authenticate, long seed) throws Exception {
    String replay = "seed " + seed + " (replay: -Dvrdma.fuzz.seed=" + BASE_SEED + " -Dvrdma.fuzz.frames=" + FRAMES
        + "), authentication " + (authenticate ? "on" : "off");
    System.out.println("BlockServerFuzzTest: " + FRAMES + " frames, " + replay);
    List<Published> published = List.of(
        new Published(NS1, authenticate ? SECRET1 : null, dir.resolve("ns1.data")),
        new Published(NS2, authenticate ? SECRET2 : null, dir.resolve("ns2.data")));
    // blocks start inside the files (the registered segment has a file offset), one is empty, one is
    // almost a whole frame
    Patterns.writeFile(published.get(0).file, PATTERN_SEED, 0, 80_000);
    Patterns.writeFile(published.get(1).file, PATTERN_SEED + 1, 0, 20_000);
    published.get(0).blocks.put("shuffle_0_0_0", new BlockSegment("shuffle_0_0_0", 777, 1));
    published.get(0).blocks.put("shuffle_0_1_0", new BlockSegment("shuffle_0_1_0", 778, 4096));
    published.get(0).blocks.put("shuffle_0_2_0", new BlockSegment("shuffle_0_2_0", 4874, 0));
    published.get(0).blocks.put("shuffle_0_3_0", new BlockSegment("shuffle_0_3_0", 4874, 60_000));
    published.get(1).blocks.put("shuffle_7_0_0", new BlockSegment("shuffle_7_0_0", 10, 9_990));
    published.get(1).blocks.put("shuffle_7_0_1", new BlockSegment("shuffle_7_0_1", 10_000, 10_000));

    LogTap log = new LogTap();
    TransportNode serverNode = TransportNode.start(transportConf());
    BlockServer server = new BlockServer(serverNode, BlockConf.defaults(), authenticate);
    try {
      for (Published p : published) {
        server.createNamespace(p.namespace, p.secret);
        server.publish(p.namespace, p.file, List.copyOf(p.blocks.values()));
      }
      Fuzzer fuzzer = new Fuzzer(new Random(seed), serverNode.advertisement().port(), authenticate, published, replay);
      for (Published p : published) {
        fuzzer.learnRegion(p);
      }

      // warm-up: both event loops started, classes loaded, pools primed
      System.setErr(log);
      try {
        fuzzer.run(2_000);
        fuzzer.closeAllPending();
      } finally {
        System.setErr(log.original);
      }
      settle();
      int threadsBefore = liveThreads();
      long heapBefore = usedHeapAfterGc();
      long directBefore = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
      long fdsBefore = openFileDescriptors();
      long poolBefore = serverNode.bufferPool().allocatedBytes();
      long sentBefore = fuzzer.framesSent;

      long start = System.nanoTime();
      System.setErr(log);
      try {
        fuzzer.run(FRAMES);
        fuzzer.closeAllPending();
      } finally {
        System.setErr(log.original);
      }
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      long sent = fuzzer.framesSent - sentBefore;
      System.out.println("BlockServerFuzzTest: " + sent + " frames (" + fuzzer.bytesSent + " bytes) on "
          + fuzzer.connections + " connections in " + millis + " ms; closed by the server "
          + fuzzer.closedByServer + ", by the server after our end of stream " + fuzzer.closedAfterOurEof
          + ", still open after " + PENDING_MILLIS + " ms " + fuzzer.survived + "; frames by kind "
          + new TreeMap<>(fuzzer.kinds));
      System.out.println("BlockServerFuzzTest: server refused " + log.refusals + " connections; reasons seen: "
          + log.samples);

      assertTrue(sent >= FRAMES, "only " + sent + " frames sent; " + replay);
      assertTrue(fuzzer.closedByServer > 0, "the server closed no connection; " + replay);
      assertTrue(log.refusals > 0, "the server logged no refusal; " + replay);
      assertEquals(0, log.unclearRefusals, "refusals whose reason is a raw exception, not a clear message:\n"
          + log.unclearSample + replay);
      assertEquals(0, log.stackTraces, "exceptions escaped with stack traces:\n" + log.traceSample + replay);

      settle();
      long heapGrowth = usedHeapAfterGc() - heapBefore;
      long directGrowth = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory() - directBefore;
      System.out.println("BlockServerFuzzTest: heap growth " + heapGrowth + " bytes, pooled direct growth "
          + directGrowth + " bytes, server buffer pool " + serverNode.bufferPool().allocatedBytes() + " bytes");
      assertTrue(heapGrowth < MAX_HEAP_GROWTH, "heap grew by " + heapGrowth + " bytes; " + replay);
      assertTrue(directGrowth < MAX_DIRECT_GROWTH, "pooled direct memory grew by " + directGrowth + " bytes; " + replay);
      assertTrue(serverNode.bufferPool().allocatedBytes() <= poolBefore,
          "the server's buffer pool grew to " + serverNode.bufferPool().allocatedBytes() + " bytes; " + replay);
      assertSettles(() -> liveThreads() <= threadsBefore + 4,
          () -> "threads: " + threadsBefore + " before the fuzz, " + liveThreads() + " after; " + replay);
      if (fdsBefore >= 0) {
        assertSettles(() -> openFileDescriptors() <= fdsBefore + 8,
            () -> "file descriptors: " + fdsBefore + " before the fuzz, " + openFileDescriptors() + " after; " + replay);
      }

      fetchEveryBlockIntact(serverNode, published, replay);
      if (authenticate) {
        fetchWithWrongSecretFails(serverNode, published.get(0), replay);
      }
      assertSettles(() -> liveThreads() <= threadsBefore + 4,
          () -> "threads: " + threadsBefore + " before the fuzz, " + liveThreads() + " after the good client; " + replay);
    } finally {
      server.close();
      serverNode.close();
    }
  }

  /** A good client, on its own node, gets every published block with the right bytes. */
  private static void fetchEveryBlockIntact(TransportNode serverNode, List<Published> published, String replay)
      throws Exception {
    try (TransportNode clientNode = TransportNode.start(transportConf());
        BlockClient client = new BlockClient(clientNode, BlockConf.defaults())) {
      for (Published p : published) {
        Map<String, String> problems = new ConcurrentHashMap<>();
        Set<String> delivered = ConcurrentHashMap.newKeySet();
        client.fetch("127.0.0.1", serverNode.advertisement().port(), p.namespace, p.secret,
            List.copyOf(p.blocks.keySet()), new BlockFetchListener() {
              @Override
              public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
                try (block) {
                  BlockSegment segment = p.blocks.get(blockId);
                  ByteBuffer bytes = block.nioByteBuffer();
                  String mismatch = block.size() != segment.length()
                      ? "size " + block.size() + ", expected " + segment.length()
                      : Patterns.mismatch(PATTERN_SEED + (p == published.get(0) ? 0 : 1), segment.fileOffset(), bytes,
                          bytes.position(), (int) segment.length());
                  if (mismatch != null) {
                    problems.put(blockId, mismatch);
                  }
                  delivered.add(blockId);
                } catch (IOException | RuntimeException e) {
                  problems.put(blockId, e.toString());
                }
              }

              @Override
              public void onBlockFetchFailure(String blockId, Throwable cause) {
                problems.put(blockId, "failed: " + cause);
              }
            }).get(60, TimeUnit.SECONDS);
        assertEquals(Map.of(), problems, "blocks of " + p.namespace + " after the fuzz; " + replay);
        assertEquals(p.blocks.keySet(), delivered, "blocks of " + p.namespace + " after the fuzz; " + replay);
      }
      assertEquals(0, clientNode.bufferPool().outstandingBuffers(), clientNode.bufferPool().leakReport());
    }
  }

  /** With authentication on, the wrong secret still opens nothing after the fuzz. */
  private static void fetchWithWrongSecretFails(TransportNode serverNode, Published p, String replay) throws Exception {
    try (TransportNode clientNode = TransportNode.start(transportConf());
        BlockClient client = new BlockClient(clientNode, BlockConf.fromMap(Map.of(BlockConf.MAX_RETRIES.name(), "0")))) {
      Map<String, Throwable> failures = new ConcurrentHashMap<>();
      Set<String> delivered = ConcurrentHashMap.newKeySet();
      client.fetch("127.0.0.1", serverNode.advertisement().port(), p.namespace, SECRET2, List.copyOf(p.blocks.keySet()),
          new BlockFetchListener() {
            @Override
            public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
              delivered.add(blockId);
              block.release();
            }

            @Override
            public void onBlockFetchFailure(String blockId, Throwable cause) {
              failures.put(blockId, cause);
            }
          }).get(60, TimeUnit.SECONDS);
      assertEquals(Set.of(), delivered, "blocks delivered for a wrong secret; " + replay);
      assertEquals(p.blocks.keySet(), failures.keySet(), "wrong-secret fetch; " + replay);
    }
  }

  /**
   * The generator and sender. Each connection gets a session: usually a valid HELLO, then (with
   * authentication on, mostly) a real challenge and proof, then a run of frames the server must answer
   * without closing (valid locates, reads in and out of range, challenges) ended by one hostile frame.
   * Some sessions start hostile. Everything is drawn from one {@link Random}, so a seed replays.
   */
  private static final class Fuzzer {
    final Random rnd;
    final int port;
    final boolean authenticate;
    final List<Published> published;
    final String replay;
    final byte[] hello;
    final ByteBuffer out = ByteBuffer.allocate(4 * MAX_FRAME);
    final ByteBuffer scratch = ByteBuffer.allocateDirect(256 * 1024);
    final Deque<Pending> pending = new ArrayDeque<>();
    final Map<String, Integer> kinds = new HashMap<>();
    long framesSent;
    long bytesSent;
    long connections;
    long closedByServer;
    long closedAfterOurEof;
    long survived;
    int framesInBatch;
    long nextId = 1;

    record Pending(SocketChannel channel, long deadline, boolean halfClosed) {}

    Fuzzer(Random rnd, int port, boolean authenticate, List<Published> published, String replay) {
      this.rnd = rnd;
      this.port = port;
      this.authenticate = authenticate;
      this.published = published;
      this.replay = replay;
      this.hello = new NodeAdvertisement(rnd.nextLong(), "127.0.0.1", 1, Map.of(Tier.TCP, new byte[0])).toBytes();
    }

    /** Locates a namespace's blocks over a raw socket, as a peer would, to learn its tcp registration. */
    void learnRegion(Published p) throws IOException {
      try (SocketChannel ch = connect()) {
        ByteBuffer b = ByteBuffer.allocate(8192);
        frame(b, Frames.HELLO, 1, hello);
        send(ch, b.flip());
        await(ch, 1);
        authenticate(ch, p);
        b.clear();
        List<String> ids = List.copyOf(p.blocks.keySet());
        frame(b, Frames.REQUEST, 4, bytes(Messages.locate(p.namespace, Tier.TCP, 1 << 20, ids)));
        send(ch, b.flip());
        Messages.LocateAnswer locations;
        try {
          locations = Messages.decodeLocateAnswer(await(ch, 4), ids.size());
        } catch (io.vrdma.transport.TransportException e) {
          throw new AssertionError("bad LOCATE answer: " + e.getMessage() + "; " + replay, e);
        }
        RegionDescriptor d = locations.runOf(locations.blocks().get(0)).placements().get(Tier.TCP).region();
        p.key = d.key();
        p.regionLength = d.length();
      }
    }

    private void authenticate(SocketChannel ch, Published p) throws IOException {
      if (!authenticate) {
        return;
      }
      // ids from the connection's own sequence: a fixed id could equal the HELLO's and take its answer
      long challengeId = id();
      long proofId = id();
      ByteBuffer b = ByteBuffer.allocate(1024);
      frame(b, Frames.REQUEST, challengeId, bytes(Messages.authChallenge(p.namespace)));
      send(ch, b.flip());
      byte[] nonce = bytes(await(ch, challengeId));
      b.clear();
      frame(b, Frames.REQUEST, proofId, bytes(Messages.authProof(p.namespace, SecretProof.prove(p.secret, p.namespace, nonce))));
      send(ch, b.flip());
      await(ch, proofId);
    }

    void run(long frames) throws IOException {
      long target = framesSent + frames;
      while (framesSent < target) {
        session();
        reapPending(false);
      }
    }

    void closeAllPending() throws IOException {
      long until = System.currentTimeMillis() + 5000;
      while (!pending.isEmpty() && System.currentTimeMillis() < until) {
        reapPending(false);
        if (!pending.isEmpty()) {
          sleep(10);
        }
      }
      reapPending(true);
    }

    private void session() throws IOException {
      SocketChannel ch = connect();
      connections++;
      out.clear();
      framesInBatch = 0;
      int opening = rnd.nextInt(100);
      if (opening < 3) {
        count("random bytes first");
        randomBytes();
        finish(ch, false);
        return;
      }
      if (opening < 6) {
        count("mutated HELLO");
        byte[] h = hello.clone();
        if (rnd.nextBoolean()) {
          flipBits(h, 1 + rnd.nextInt(4));
          frame(out, Frames.HELLO, id(), h);
        } else {
          frame(out, Frames.HELLO, id(), java.util.Arrays.copyOf(h, rnd.nextInt(h.length)));
        }
        finish(ch, false);
        return;
      }
      if (opening < 9) {
        count("first frame not HELLO");
        byte type = (byte) (rnd.nextBoolean() ? Frames.REQUEST : rnd.nextBoolean() ? Frames.READ : rnd.nextInt(256));
        if (type == Frames.HELLO) {
          type = Frames.RESPONSE;
        }
        frame(out, type, id(), randomBytes(rnd.nextInt(64)));
        finish(ch, false);
        return;
      }
      frame(out, Frames.HELLO, id(), hello);
      Published proven = null;
      if (authenticate && rnd.nextInt(5) != 0) {
        proven = published.get(rnd.nextInt(published.size()));
        if (!flush(ch)) {
          return;
        }
        try {
          authenticate(ch, proven);
        } catch (IOException e) {
          throw new AssertionError("the server closed a well-behaved connection: " + e + "; " + replay, e);
        }
        framesSent += 2;
      }
      int benign = rnd.nextInt(rnd.nextInt(10) == 0 ? 400 : 60);
      for (int i = 0; i < benign; i++) {
        benignFrame(proven);
        if (out.position() > 2 * MAX_FRAME && !flush(ch)) {
          return;
        }
      }
      boolean mayHang = hostileFrame(proven);
      finish(ch, mayHang);
    }

    /** A frame the server answers without closing the connection. */
    private void benignFrame(Published proven) {
      Published p = authenticate ? proven : published.get(rnd.nextInt(published.size()));
      int kind = rnd.nextInt(p == null ? 1 : 10);
      if (kind == 0 && authenticate) {
        count("benign AUTH_CHALLENGE");
        Published q = published.get(rnd.nextInt(published.size()));
        request(Messages.authChallenge(q.namespace));
        return;
      }
      if (p == null) {
        // unauthenticated with auth on: only challenges are answered; fall back to one
        count("benign AUTH_CHALLENGE");
        request(Messages.authChallenge(published.get(rnd.nextInt(published.size())).namespace));
        return;
      }
      if (kind < 5) {
        count("valid LOCATE");
        List<String> ids = new ArrayList<>();
        List<String> known = List.copyOf(p.blocks.keySet());
        int n = 1 + rnd.nextInt(rnd.nextInt(20) == 0 ? 2000 : 16);
        for (int j = 0; j < n; j++) {
          ids.add(rnd.nextInt(3) == 0 ? "missing_" + rnd.nextInt(1_000_000) : known.get(rnd.nextInt(known.size())));
        }
        request(Messages.locate(p.namespace, Tier.TCP, 1 << 20, ids));
        return;
      }
      if (kind < 8) {
        count("valid READ");
        long offset = (long) (rnd.nextDouble() * p.regionLength);
        int length = (int) Math.min(p.regionLength - offset, rnd.nextInt(2048));
        read(p.key, offset, length);
        return;
      }
      count("READ outside the region");
      read(p.key, p.regionLength - rnd.nextInt(100) + 1 + rnd.nextInt(1000), 1 + rnd.nextInt(1000));
    }

    /** A frame the server should refuse by closing the connection. Returns whether it may wait for more bytes. */
    private boolean hostileFrame(Published proven) {
      Published p = published.get(rnd.nextInt(published.size()));
      switch (rnd.nextInt(12)) {
        case 0 -> {
          count("random bytes");
          randomBytes();
          return true;
        }
        case 1 -> {
          count("absurd frame length");
          int length = switch (rnd.nextInt(3)) {
            case 0 -> Integer.MIN_VALUE + rnd.nextInt(Integer.MAX_VALUE);
            case 1 -> MAX_FRAME + 1 + rnd.nextInt(Integer.MAX_VALUE - MAX_FRAME - 1);
            default -> rnd.nextInt(Frames.HEADER_AFTER_LENGTH);
          };
          out.putInt(length);
          out.put(randomBytes(Math.max(0, Math.min(length, 16))));
          framesInBatch++;
          return false;
        }
        case 2 -> {
          count("unexpected frame type");
          int type;
          do {
            type = rnd.nextInt(256);
          } while (type == Frames.REQUEST || type == Frames.READ);
          frame(out, (byte) type, id(), type == Frames.HELLO ? hello : randomBytes(rnd.nextInt(100)));
          return false;
        }
        case 3 -> {
          count("frame longer than it claims / truncated");
          byte[] payload = bytes(Messages.locate(p.namespace, Tier.TCP, 1 << 20, List.copyOf(p.blocks.keySet())));
          out.putInt(Frames.HEADER_AFTER_LENGTH + payload.length + 1 + rnd.nextInt(MAX_FRAME - payload.length - 100));
          out.put(Frames.REQUEST).putLong(id()).put(payload, 0, rnd.nextInt(payload.length + 1));
          framesInBatch++;
          return true;
        }
        case 4 -> {
          count("bit-flipped frame");
          int at = out.position();
          request(rnd.nextBoolean() ? Messages.locate(p.namespace, Tier.TCP, 1 << 20, List.copyOf(p.blocks.keySet()))
              : Messages.authChallenge(p.namespace));
          int length = out.position() - at;
          for (int k = 1 + rnd.nextInt(3); k > 0; k--) {
            int i = at + rnd.nextInt(length);
            out.put(i, (byte) (out.get(i) ^ (1 << rnd.nextInt(8))));
          }
          return true;
        }
        case 5 -> {
          count("READ of an unknown key or malformed READ");
          long key = rnd.nextBoolean() ? rnd.nextLong() : p.key + 1 + rnd.nextInt(1000);
          if (rnd.nextBoolean()) {
            read(key, rnd.nextLong(), rnd.nextInt());
          } else {
            ByteBuffer payload = ByteBuffer.allocate(rnd.nextInt(2 * Frames.READ_PAYLOAD_BYTES));
            if (payload.capacity() == Frames.READ_PAYLOAD_BYTES) {
              payload = ByteBuffer.allocate(Frames.READ_PAYLOAD_BYTES + 1);
            }
            rnd.nextBytes(payload.array());
            frame(out, Frames.READ, id(), payload.array());
          }
          return false;
        }
        case 6 -> {
          count("READ of a published key with absurd offset or length");
          long authorizedKey = authenticate ? (proven == null ? p.key : proven.key) : p.key;
          switch (rnd.nextInt(4)) {
            case 0 -> read(authorizedKey, Long.MAX_VALUE - rnd.nextInt(1000), 1 + rnd.nextInt(Integer.MAX_VALUE));
            case 1 -> read(authorizedKey, -1 - rnd.nextInt(Integer.MAX_VALUE), rnd.nextInt(100));
            case 2 -> read(authorizedKey, rnd.nextInt(100), -1 - rnd.nextInt(Integer.MAX_VALUE));
            default -> read(authorizedKey, rnd.nextLong(), rnd.nextInt());
          }
          return false;
        }
        case 7 -> {
          count("absurd LOCATE count");
          ByteBuffer m = message(Messages.LOCATE, p.namespace, 64);
          int n = switch (rnd.nextInt(4)) {
            case 0 -> -1 - rnd.nextInt(Integer.MAX_VALUE);
            case 1 -> Integer.MAX_VALUE - rnd.nextInt(1000);
            case 2 -> 16_385 + rnd.nextInt(1_000_000);
            default -> 20 + rnd.nextInt(16_000); // more than the bytes can hold
          };
          m.putInt(n).putShort((short) 3).put("abc".getBytes(StandardCharsets.US_ASCII));
          request(m.flip());
          return false;
        }
        case 8 -> {
          count("huge or empty string length");
          int type = rnd.nextInt(3) + 1;
          ByteBuffer m = ByteBuffer.allocate(2048).put((byte) type);
          int length = switch (rnd.nextInt(3)) {
            case 0 -> 0xFFFF;
            case 1 -> 1025 + rnd.nextInt(60_000);
            default -> 0;
          };
          m.putShort((short) length).put(randomBytes(rnd.nextInt(1500)));
          request(m.flip());
          return false;
        }
        case 9 -> {
          count("unknown block message type or empty message");
          if (rnd.nextInt(4) == 0) {
            frame(out, Frames.REQUEST, id(), new byte[0]);
          } else {
            byte type = (byte) (4 + rnd.nextInt(252));
            ByteBuffer m = message(type, p.namespace, 64);
            m.put(randomBytes(rnd.nextInt(64)));
            request(m.flip());
          }
          return false;
        }
        case 10 -> {
          count("stray bytes after a block message");
          ByteBuffer m = rnd.nextBoolean() ? Messages.locate(p.namespace, Tier.TCP, 1 << 20, List.of("shuffle_0_0_0"))
              : Messages.authChallenge(p.namespace);
          ByteBuffer longer = ByteBuffer.allocate(m.remaining() + 1 + rnd.nextInt(100)).put(m);
          while (longer.hasRemaining()) {
            longer.put((byte) rnd.nextInt());
          }
          request(longer.flip());
          return false;
        }
        default -> {
          count("bad AUTH_PROOF / unauthenticated request");
          switch (rnd.nextInt(5)) {
            case 0 -> request(Messages.authProof(p.namespace, randomBytes(Messages.MAC_BYTES)));
            case 1 -> request(Messages.authProof(p.namespace.equals(NS1) ? NS2 : NS1,
                SecretProof.prove(SECRET1, p.namespace, new byte[Messages.NONCE_BYTES])));
            case 2 -> request(Messages.authProof("no-such-namespace", randomBytes(Messages.MAC_BYTES)));
            case 3 -> {
              // a short MAC
              ByteBuffer m = message(Messages.AUTH_PROOF, p.namespace, 31);
              request(m.put(randomBytes(1 + rnd.nextInt(30))).flip());
            }
            default -> {
              // with authentication on: a namespace this connection has not proven; off: a challenge
              // for a namespace without a secret
              Published other = proven == null ? p : published.get(published.get(0) == proven ? 1 : 0);
              request(authenticate ? Messages.locate(other.namespace, Tier.TCP, 1 << 20, List.of("shuffle_0_0_0"))
                  : Messages.authChallenge(p.namespace));
            }
          }
          return false;
        }
      }
    }

    private static ByteBuffer message(byte type, String namespace, int extra) {
      byte[] ns = namespace.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(1 + 2 + ns.length + extra).put(type).putShort((short) ns.length).put(ns);
    }

    private void randomBytes() {
      out.put(randomBytes(1 + rnd.nextInt(300)));
      framesInBatch++;
    }

    private byte[] randomBytes(int n) {
      byte[] b = new byte[n];
      rnd.nextBytes(b);
      return b;
    }

    private void flipBits(byte[] b, int flips) {
      for (int k = 0; k < flips && b.length > 0; k++) {
        int i = rnd.nextInt(b.length);
        b[i] ^= (byte) (1 << rnd.nextInt(8));
      }
    }

    private void request(ByteBuffer message) {
      frame(out, Frames.REQUEST, id(), bytes(message));
    }

    private void read(long key, long offset, int length) {
      out.putInt(Frames.HEADER_AFTER_LENGTH + Frames.READ_PAYLOAD_BYTES).put(Frames.READ).putLong(id());
      out.putLong(key).putLong(offset).putInt(length);
      framesInBatch++;
    }

    private void frame(ByteBuffer b, byte type, long id, byte[] payload) {
      b.putInt(Frames.HEADER_AFTER_LENGTH + payload.length).put(type).putLong(id).put(payload);
      if (b == out) {
        framesInBatch++;
      }
    }

    private long id() {
      return nextId++;
    }

    private void count(String kind) {
      kinds.merge(kind, 1, Integer::sum);
    }

    private static byte[] bytes(ByteBuffer b) {
      byte[] a = new byte[b.remaining()];
      b.get(a);
      return a;
    }

    private SocketChannel connect() throws IOException {
      SocketChannel ch = SocketChannel.open();
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.connect(new InetSocketAddress("127.0.0.1", port));
      ch.configureBlocking(false);
      return ch;
    }

    /** Writes the batch, draining answers meanwhile; false (and the channel closed) when the server closed it. */
    private boolean flush(SocketChannel ch) throws IOException {
      out.flip();
      long deadline = System.currentTimeMillis() + 20_000;
      try {
        while (out.hasRemaining()) {
          int n = ch.write(out);
          bytesSent += n;
          if (drain(ch) < 0) {
            throw new IOException("closed by the server");
          }
          if (n == 0) {
            if (System.currentTimeMillis() > deadline) {
              throw new AssertionError("the server took no bytes for 20 s; " + replay);
            }
            sleep(1);
          }
        }
      } catch (IOException e) {
        closedByServer++;
        ch.close();
        out.clear();
        framesInBatch = 0;
        return false;
      }
      framesSent += framesInBatch;
      framesInBatch = 0;
      out.clear();
      return true;
    }

    private void finish(SocketChannel ch, boolean halfClose) throws IOException {
      if (!flush(ch)) {
        return;
      }
      if (halfClose) {
        try {
          ch.shutdownOutput();
        } catch (IOException e) {
          closedByServer++;
          ch.close();
          return;
        }
      }
      pending.addLast(new Pending(ch, System.currentTimeMillis() + PENDING_MILLIS, halfClose));
    }

    /** Reads and discards what the server sent; -1 once it closed the connection. */
    private int drain(SocketChannel ch) throws IOException {
      int total = 0;
      while (true) {
        scratch.clear();
        int n = ch.read(scratch);
        if (n < 0) {
          return -1;
        }
        if (n == 0) {
          return total;
        }
        total += n;
      }
    }

    private void reapPending(boolean closeAll) throws IOException {
      long now = System.currentTimeMillis();
      int size = pending.size();
      for (int i = 0; i < size; i++) {
        Pending p = pending.pollFirst();
        int state;
        try {
          state = drain(p.channel);
        } catch (IOException e) {
          state = -1; // reset by the server
        }
        if (state < 0) {
          if (p.halfClosed) {
            closedAfterOurEof++;
          } else {
            closedByServer++;
          }
          p.channel.close();
        } else if (closeAll || now > p.deadline || pending.size() >= MAX_PENDING) {
          survived++;
          p.channel.close();
        } else {
          pending.addLast(p);
        }
      }
    }

    /** Waits for the answer to request {@code id}, skipping others; fails on an ERROR, end of stream or timeout. */
    private ByteBuffer await(SocketChannel ch, long id) throws IOException {
      ByteBuffer in = ByteBuffer.allocate(2 * MAX_FRAME);
      long deadline = System.currentTimeMillis() + 10_000;
      while (true) {
        in.flip();
        while (in.remaining() >= Integer.BYTES && in.remaining() >= Integer.BYTES + in.getInt(in.position())) {
          int length = in.getInt();
          byte type = in.get();
          long frameId = in.getLong();
          byte[] payload = new byte[length - Frames.HEADER_AFTER_LENGTH];
          in.get(payload);
          if (frameId == id) {
            if (type == Frames.ERROR) {
              throw new IOException("request " + id + " failed: "
                  + new String(payload, 1, payload.length - 1, StandardCharsets.UTF_8));
            }
            return ByteBuffer.wrap(payload);
          }
        }
        in.compact();
        int n = ch.read(in);
        if (n < 0) {
          throw new IOException("closed by the server while waiting for the answer to " + id);
        }
        if (n == 0) {
          if (System.currentTimeMillis() > deadline) {
            throw new AssertionError("no answer to request " + id + " within 10 s; " + replay);
          }
          sleep(1);
        }
      }
    }

    private void send(SocketChannel ch, ByteBuffer b) throws IOException {
      while (b.hasRemaining()) {
        if (ch.write(b) == 0) {
          sleep(1);
        }
      }
    }
  }

  /** Stands in for stderr while fuzzing: counts the server's refusals and any stack trace, keeps samples. */
  private static final class LogTap extends PrintStream {
    final PrintStream original = System.err;
    final Map<String, String> samples = new TreeMap<>();
    final StringBuilder traceSample = new StringBuilder();
    final StringBuilder unclearSample = new StringBuilder();
    long refusals;
    long unclearRefusals;
    long stackTraces;

    LogTap() {
      super(new LineSink(), true, StandardCharsets.UTF_8);
      ((LineSink) out).tap = this;
    }

    synchronized void line(String line) {
      int at = line.indexOf("closing ");
      if (at >= 0 && line.contains("connection from")) {
        refusals++;
        int colon = line.indexOf(": ", line.indexOf("connection from"));
        String reason = colon < 0 ? line.substring(at) : line.substring(colon + 2);
        String key = reason.replaceAll("[0-9a-f]{6,}|-?[0-9]+", "#");
        if (reason.matches(".*\\b(java|io\\.netty)\\.[a-z.]+\\.[A-Z]\\w*(Exception|Error)\\b.*")) {
          // a raw exception escaped the checks: the reason says what broke, not what was wrong with the frame
          unclearRefusals++;
          if (unclearSample.length() < 2000) {
            unclearSample.append(reason).append('\n');
          }
        }
        if (samples.size() < 40) {
          samples.putIfAbsent(key, reason);
        }
      } else if (line.startsWith("\tat ") || line.contains("Exception") || line.contains("LEAK")) {
        if (line.startsWith("\tat ")) {
          stackTraces++;
        }
        if (traceSample.length() < 4000) {
          traceSample.append(line).append('\n');
        }
        if (line.contains("LEAK")) {
          stackTraces++;
        }
      }
    }
  }

  private static final class LineSink extends OutputStream {
    LogTap tap;
    final ByteArrayOutputStream line = new ByteArrayOutputStream();

    @Override
    public synchronized void write(int b) {
      if (b == '\n') {
        tap.line(line.toString(StandardCharsets.UTF_8));
        line.reset();
      } else {
        line.write(b);
      }
    }
  }

  private interface Check {
    boolean ok() throws Exception;
  }

  private static void assertSettles(Check check, java.util.function.Supplier<String> message) throws Exception {
    long until = System.currentTimeMillis() + 10_000;
    while (!check.ok()) {
      if (System.currentTimeMillis() > until) {
        fail(message.get());
      }
      sleep(50);
    }
  }

  private static void settle() {
    sleep(200);
  }

  private static int liveThreads() {
    return (int) Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).count();
  }

  private static long openFileDescriptors() {
    String[] fds = new File("/proc/self/fd").list();
    return fds == null ? -1 : fds.length;
  }

  private static long usedHeapAfterGc() {
    Runtime rt = Runtime.getRuntime();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      sleep(50);
      used = Math.min(used, rt.totalMemory() - rt.freeMemory());
    }
    return used;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
