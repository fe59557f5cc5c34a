package io.vrdma.transport.shm;

import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionView;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.tcp.TcpClientChannel;
import io.vrdma.transport.tier.DataPath;
import io.vrdma.transport.tier.TierProvider;
import io.vrdma.transport.tier.TierRegistration;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.UUID;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The shared-memory tier: registering a region places its bytes in the host group's arena, and a peer
 * that maps the same arena reads them with a bounds-checked copy, never touching the network.
 */
public final class ShmTier implements TierProvider {
  private final SharedArena arena;

  private ShmTier(SharedArena arena) {
    this.arena = arena;
  }

  /**
   * Attaches to (or creates) the configured arena.
   *
   * @throws TransportException with a one-line reason when the arena cannot be used
   */
  public static ShmTier open(TransportConf conf) throws TransportException {
    SharedArena arena = SharedArena.attach(conf);
    if (conf.get(TransportConf.SHM_PREALLOCATE) && arena.createdHere()) {
      // by the creator only: the pages stay backed while the file exists, for every process that maps it later;
      // in the background: start-up need not wait, and the first shuffle rarely comes within a second
      Thread t = new Thread(arena::preallocate, "vrdma-shm-preallocate");
      t.setDaemon(true);
      t.start();
    }
    return new ShmTier(arena);
  }

  /**
   * Attaches to the configured arena only to read peers' regions ({@link SharedArena#attachForReading}): the tier
   * of a node that serves nothing. Registering on it fails.
   *
   * @throws TransportException with a one-line reason when the arena cannot be used
   */
  public static ShmTier openForReading(TransportConf conf) throws TransportException {
    return new ShmTier(SharedArena.attachForReading(conf));
  }

  /** The arena this tier places regions in. */
  public SharedArena arena() {
    return arena;
  }

  @Override
  public Tier tier() {
    return Tier.SHM;
  }

  @Override
  public byte[] advertisedInfo() {
    UUID id = arena.arenaId();
    return ByteBuffer.allocate(16).putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits()).array();
  }

  @Override
  public String detail() {
    return "arena " + arena.path() + ", " + (arena.sizeBytes() >> 20) + " MiB in chunks of "
        + (arena.chunkBytes() >> 10) + " KiB";
  }

  @Override
  public long windowBytes() {
    return (long) arena.chunkCount() * arena.chunkBytes();
  }

  @Override
  public long maxRegionBytes() {
    return arena.maxRegionBytes();
  }

  @Override
  public TierRegistration register(RegionSource source) throws TransportException {
    // an empty region still takes a chunk, so that its descriptor names a live registration
    ArenaRegion region = arena.allocate(Math.max(1, source.length()));
    try {
      fill(region.writableBuffer(), source);
    } catch (IOException | RuntimeException e) {
      region.close();
      throw new TransportException("cannot copy " + source + " into the shm arena: " + e, e);
    } catch (InternalError e) {
      // the JVM's report of SIGBUS on mapped memory: the arena's tmpfs has no page left for this chunk
      region.close();
      throw new TransportException.ResourceFullException("shm arena " + arena.path() + " cannot take " + source
          + ": its file system is out of space (" + e.getMessage() + ")");
    }
    region.publish();
    RegionDescriptor descriptor = new RegionDescriptor(Tier.SHM, region.owner(), region.address(), region.key(),
        source.length());
    return TierRegistration.of(descriptor, region.writableBuffer().limit((int) source.length()), region::close);
  }

  private static void fill(ByteBuffer target, RegionSource source) throws IOException {
    if (source instanceof RegionSource.BufferRegion buffer) {
      target.put(buffer.buffer().duplicate());
      return;
    }
    RegionSource.FileSegment segment = (RegionSource.FileSegment) source;
    try (FileChannel file = FileChannel.open(segment.file(), StandardOpenOption.READ)) {
      long position = segment.offset();
      ByteBuffer dst = target.duplicate().limit((int) segment.length());
      while (dst.hasRemaining()) {
        int n = file.read(dst, position);
        if (n < 0) {
          throw new IOException(segment.file() + " ends before " + (segment.offset() + segment.length()));
        }
        position += n;
      }
    }
  }

  @Override
  public DataPath open(NodeAdvertisement peer, TcpClientChannel control) {
    return new DataPath() {
      @Override
      public CompletableFuture<Void> read(RegionDescriptor region, long offset, int length, PooledBuffer dst,
          int dstOffset) {
        try {
          arena.copyOut(region.owner(), region.address(), region.key(), region.length(), offset, length,
              dst.nioBuffer(), dstOffset);
          return CompletableFuture.completedFuture(null);
        } catch (TransportException e) {
          return CompletableFuture.failedFuture(e);
        }
      }

      @Override
      public Optional<RegionView> view(RegionDescriptor region, long offset, int length) throws TransportException {
        return Optional.of(arena.view(region.owner(), region.address(), region.key(), region.length(), offset,
            length));
      }

      @Override
      public void close() {
        // reads share the node's arena mapping
      }
    };
  }

  @Override
  public void close() {
    arena.close();
  }
}
