package io.vrdma.transport.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Lets the socket read a read's body straight into the caller's registered buffer. While the client
 * handler is inside a {@code READ_DATA} body whose read is still wanted, the buffer the event loop
 * reads into is a window on the destination itself, so the bytes cross from the kernel once, as with a
 * raw socket, instead of landing in a Netty buffer and being copied again. Otherwise Netty's adaptive
 * allocation applies.
 */
final class PlacementRecvAllocator implements RecvByteBufAllocator {
  /** Where the bytes of the frame being decoded belong, if they should go straight there. */
  interface PlacementSource {
    /** A writable window on the destination of the current body, or null to read as usual. */
    ByteBuf placementTarget();
  }

  private final RecvByteBufAllocator delegate = new AdaptiveRecvByteBufAllocator();
  private final PlacementSource source;

  PlacementRecvAllocator(PlacementSource source) {
    this.source = source;
  }

  // Netty 4.1's own interface method returns the deprecated Handle type; there is no other to override
  @SuppressWarnings("deprecation")
  @Override
  public Handle newHandle() {
    return new PlacingHandle((ExtendedHandle) delegate.newHandle());
  }

  /** Netty's adaptive handle, except that it allocates the placement window when there is one. */
  private final class PlacingHandle implements ExtendedHandle {
    private final ExtendedHandle delegate;

    PlacingHandle(ExtendedHandle delegate) {
      this.delegate = delegate;
    }

    @Override
    public ByteBuf allocate(ByteBufAllocator alloc) {
      ByteBuf target = source.placementTarget();
      return target != null ? target : delegate.allocate(alloc);
    }

    @Override
    public int guess() {
      return delegate.guess();
    }

    @Override
    public void reset(ChannelConfig config) {
      delegate.reset(config);
    }

    @Override
    public void incMessagesRead(int numMessages) {
      delegate.incMessagesRead(numMessages);
    }

    @Override
    public void lastBytesRead(int bytes) {
      delegate.lastBytesRead(bytes);
    }

    @Override
    public int lastBytesRead() {
      return delegate.lastBytesRead();
    }

    @Override
    public void attemptedBytesRead(int bytes) {
      delegate.attemptedBytesRead(bytes);
    }

    @Override
    public int attemptedBytesRead() {
      return delegate.attemptedBytesRead();
    }

    @Override
    public boolean continueReading() {
      return delegate.continueReading();
    }

    @Override
    public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
      return delegate.continueReading(maybeMoreDataSupplier);
    }

    @Override
    public void readComplete() {
      delegate.readComplete();
    }
  }
}
