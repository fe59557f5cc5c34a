package io.vrdma.transport.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.InvalidDescriptorException;
import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.TransportException.ReadTimeoutException;
import io.vrdma.transport.TransportException.RegionNotFoundException;
import io.vrdma.transport.TransportException.RemoteException;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.security.AesGcmCodec;
import io.vrdma.transport.security.SessionKeys;
import io.vrdma.transport.tier.DataPath;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of a connection to a peer's node: control requests, and reads of the peer's tcp
 * registrations. Read bodies are copied from the socket's buffers straight into the caller's buffer as
 * they arrive; they are never gathered into a frame first, so a 64 MiB read costs no 64 MiB of Netty
 * memory. Timeouts run on the channel's event loop, the same thread that decodes, so a read that timed
 * out can never be written into a buffer its owner has already reused. Once {@link #startEncryption} has
 * switched the channel, the socket's bytes are AES-GCM records: they are decrypted first, then copied.
 */
public final class TcpClientChannel implements DataPath {
  private static final Logger LOG = LoggerFactory.getLogger(TcpClientChannel.class);

  private final Channel channel;
  private final Handler handler;
  private final long timeoutMillis;
  private final AtomicLong nextId = new AtomicLong(1);

  TcpClientChannel(Channel channel, Handler handler, long timeoutMillis) {
    this.channel = channel;
    this.handler = handler;
    this.timeoutMillis = timeoutMillis;
  }

  /** Sends a frame of the given type and payload; the future gets the answer's payload. */
  public CompletableFuture<ByteBuffer> request(byte type, ByteBuffer payload) {
    long id = nextId.getAndIncrement();
    PendingRequest pending = new PendingRequest(id);
    ByteBuf frame = Frames.header(channel.alloc(), type, id, payload.remaining(), payload.remaining());
    frame.writeBytes(payload.duplicate());
    send(pending, frame);
    return pending.future;
  }

  @Override
  public CompletableFuture<Void> read(RegionDescriptor region, long offset, int length, PooledBuffer dst,
      int dstOffset) {
    long id = nextId.getAndIncrement();
    PendingRead pending = new PendingRead(id, dst.retain(), dstOffset, length);
    ByteBuf frame = Frames.header(channel.alloc(), Frames.READ, id, Frames.READ_PAYLOAD_BYTES,
        Frames.READ_PAYLOAD_BYTES);
    frame.writeLong(region.key()).writeLong(offset).writeInt(length);
    send(pending, frame);
    return pending.future;
  }

  private void send(Pending pending, ByteBuf frame) {
    handler.pending.put(pending.id, pending);
    pending.timeout = channel.eventLoop().schedule(() -> handler.expire(pending, timeoutMillis),
        timeoutMillis, TimeUnit.MILLISECONDS);
    if (!channel.isActive()) {
      frame.release();
      channel.eventLoop().execute(() -> handler.fail(pending,
          new PeerUnavailableException("connection to " + channel.remoteAddress() + " is closed")));
      return;
    }
    channel.writeAndFlush(frame).addListener(f -> {
      if (!f.isSuccess()) {
        handler.fail(pending, new PeerUnavailableException("cannot send to " + channel.remoteAddress()
            + ": " + f.cause(), f.cause()));
      }
    });
  }

  /**
   * Read-body bytes that the socket wrote straight into destination buffers, against those copied there
   * from Netty's own buffers (a header and a body often share one socket read).
   */
  public long[] placedAndCopiedBytes() {
    return new long[] {handler.placedBytes, handler.copiedBytes};
  }

  /**
   * Switches the channel to AES-GCM records both ways. On the event loop, before anything else is sent or
   * received: the caller has just had the answer that agreed on the keys and sends nothing in between. Direct
   * placement of read bodies into destinations stops (the socket's bytes are ciphertext now).
   *
   * @throws TransportException when the channel is closed or the switch cannot be made
   */
  public void startEncryption(SessionKeys keys) throws TransportException {
    io.netty.util.concurrent.Future<?> done = channel.eventLoop().submit(() -> {
      if (!channel.isActive()) {
        throw new PeerUnavailableException("connection to " + channel.remoteAddress() + " is closed");
      }
      if (!handler.encrypted) {
        handler.encrypted = true;
        AesGcmCodec.install(channel.pipeline(), keys, true);
      }
      return null;
    });
    if (!done.awaitUninterruptibly(timeoutMillis)) {
      throw new TransportException("switching " + this + " to encryption timed out");
    }
    if (!done.isSuccess()) {
      channel.close();
      Throwable cause = done.cause();
      throw cause instanceof TransportException te ? te
          : new TransportException("cannot switch " + this + " to encryption: " + cause, cause);
    }
  }

  /** Whether {@link #startEncryption} switched the channel. */
  public boolean encrypted() {
    return handler.encrypted;
  }

  /** False once the channel is closed, by either side. */
  public boolean isActive() {
    return channel.isActive();
  }

  /** The future completes when the channel has closed, for whatever reason. */
  public CompletableFuture<Void> closeFuture() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    channel.closeFuture().addListener(f -> done.complete(null));
    return done;
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
  }

  @Override
  public String toString() {
    return "tcp connection to " + channel.remoteAddress();
  }

  private abstract static class Pending {
    final long id;
    ScheduledFuture<?> timeout;
    boolean done;

    Pending(long id) {
      this.id = id;
    }

    /** Completes with the payload of an answer; only called on the event loop. */
    abstract void succeed(ByteBuf payload);

    abstract void fail(Throwable cause);
  }

  private static final class PendingRequest extends Pending {
    final CompletableFuture<ByteBuffer> future = new CompletableFuture<>();

    PendingRequest(long id) {
      super(id);
    }

    @Override
    void succeed(ByteBuf payload) {
      ByteBuffer copy = ByteBuffer.allocate(payload.readableBytes());
      payload.readBytes(copy);
      future.complete(copy.flip());
    }

    @Override
    void fail(Throwable cause) {
      future.completeExceptionally(cause);
    }
  }

  private static final class PendingRead extends Pending {
    final CompletableFuture<Void> future = new CompletableFuture<>();
    final PooledBuffer dst;
    final int dstOffset;
    final int length;
    int received;

    PendingRead(long id, PooledBuffer dst, int dstOffset, int length) {
      super(id);
      this.dst = dst;
      this.dstOffset = dstOffset;
      this.length = length;
    }

    void accept(ByteBuf in, int n) {
      in.readBytes(dst.nioBuffer(dstOffset + received, n));
      received += n;
    }

    @Override
    void succeed(ByteBuf unused) {
      dst.release();
      future.complete(null);
    }

    @Override
    void fail(Throwable cause) {
      dst.release();
      future.completeExceptionally(cause);
    }
  }

  /** Decodes the server's frames, streaming read bodies into their destinations. Event-loop confined. */
  static final class Handler extends ChannelInboundHandlerAdapter implements PlacementRecvAllocator.PlacementSource {
    final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final int maxFrame;
    private final ByteBuf header = Unpooled.buffer(Frames.HEADER_BYTES, Frames.HEADER_BYTES);
    private int type;
    private long id;
    private int bodyRemaining = -1;
    private PendingRead currentRead;
    private ByteBuf body;
    private boolean broken;
    /** Set on the event loop when the channel switches to encrypted records; read by other threads too. */
    volatile boolean encrypted;
    /** The window on a read's destination last handed to the socket, recognised when it comes back. */
    private ByteBuf placement;
    /** Body bytes the socket wrote straight into destinations, and those copied there from Netty buffers. */
    volatile long placedBytes;
    volatile long copiedBytes;

    Handler(int maxFrame) {
      this.maxFrame = maxFrame;
    }

    @Override
    public ByteBuf placementTarget() {
      placement = null;
      if (bodyRemaining <= 0 || currentRead == null || currentRead.done || broken || encrypted) {
        return null;
      }
      PendingRead read = currentRead;
      placement = Unpooled.wrappedBuffer(read.dst.nioBuffer(read.dstOffset + read.received, bodyRemaining)).clear();
      return placement;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      if (in == placement) {
        placement = null;
        int n = in.readableBytes();
        in.release();
        if (currentRead != null && !currentRead.done) {
          currentRead.received += n;
        }
        placedBytes += n;
        bodyRemaining -= n;
        if (bodyRemaining == 0) {
          finishFrame();
        }
        return;
      }
      try {
        while (in.isReadable() && !broken) {
          if (bodyRemaining < 0) {
            header.writeBytes(in, Math.min(in.readableBytes(), header.writableBytes()));
            if (!header.isWritable()) {
              startFrame(ctx);
            }
          } else {
            int n = Math.min(bodyRemaining, in.readableBytes());
            if (currentRead != null) {
              if (currentRead.done) {
                in.skipBytes(n);
              } else {
                currentRead.accept(in, n);
                copiedBytes += n;
              }
            } else {
              body.writeBytes(in, n);
            }
            bodyRemaining -= n;
          }
          if (bodyRemaining == 0) {
            finishFrame();
          }
        }
      } finally {
        in.release();
      }
    }

    private void startFrame(ChannelHandlerContext ctx) {
      int length = header.readInt();
      type = header.readByte();
      id = header.readLong();
      header.clear();
      bodyRemaining = length - Frames.HEADER_AFTER_LENGTH;
      if (length < Frames.HEADER_AFTER_LENGTH) {
        protocolError(ctx, "frame length " + length + " is shorter than its header");
        return;
      }
      if (type == Frames.READ_DATA) {
        Pending p = pending.get(id);
        if (p == null) {
          currentRead = DISCARD; // timed out already: drop its bytes
        } else if (!(p instanceof PendingRead read) || read.length != bodyRemaining) {
          protocolError(ctx, "READ_DATA of " + bodyRemaining + " bytes does not answer request " + id);
          return;
        } else {
          currentRead = read;
        }
        return;
      }
      if (type != Frames.RESPONSE && type != Frames.HELLO_ACK && type != Frames.ERROR) {
        protocolError(ctx, "unexpected frame " + Frames.typeName(type) + " from the server");
        return;
      }
      if (length > maxFrame) {
        protocolError(ctx, "frame of " + length + " bytes exceeds vrdma.transport.tcp.maxFrameBytes = " + maxFrame);
        return;
      }
      body = ctx.alloc().heapBuffer(bodyRemaining, bodyRemaining);
    }

    private void finishFrame() {
      bodyRemaining = -1;
      if (currentRead != null) {
        PendingRead read = currentRead;
        currentRead = null;
        if (read != DISCARD && !read.done && pending.remove(read.id, read)) {
          complete(read, null, null);
        }
        return;
      }
      ByteBuf payload = body;
      body = null;
      try {
        Pending p = pending.remove(id);
        if (p == null) {
          return; // the request timed out before its answer came
        }
        if (type == Frames.ERROR) {
          complete(p, null, decodeError(payload));
        } else {
          complete(p, payload, null);
        }
      } finally {
        payload.release();
      }
    }

    private static TransportException decodeError(ByteBuf payload) {
      int code = payload.isReadable() ? payload.readByte() : Frames.ERROR_FAILED;
      String message = payload.toString(StandardCharsets.UTF_8);
      return switch (code) {
        case Frames.ERROR_NOT_FOUND -> new RegionNotFoundException(message);
        case Frames.ERROR_INVALID -> new InvalidDescriptorException(message);
        default -> new RemoteException(message);
      };
    }

    private void complete(Pending p, ByteBuf payload, Throwable failure) {
      if (p.done) {
        return;
      }
      p.done = true;
      if (p.timeout != null) {
        p.timeout.cancel(false);
      }
      if (failure == null) {
        p.succeed(payload);
      } else {
        p.fail(failure);
      }
    }

    void fail(Pending p, Throwable cause) {
      if (pending.remove(p.id, p)) {
        complete(p, null, cause);
      }
    }

    void expire(Pending p, long timeoutMillis) {
      fail(p, new ReadTimeoutException("no answer from the peer within " + timeoutMillis
          + " ms (vrdma.transport.readTimeout)"));
    }

    private void protocolError(ChannelHandlerContext ctx, String what) {
      LOG.warn("closing connection to {}: {}", ctx.channel().remoteAddress(), what);
      broken = true;
      bodyRemaining = -1;
      currentRead = null;
      ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      PeerUnavailableException gone = new PeerUnavailableException("connection to "
          + ctx.channel().remoteAddress() + " closed with requests in flight");
      for (Pending p : pending.values()) {
        fail(p, gone);
      }
      if (body != null) {
        body.release();
        body = null;
      }
      header.release();
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.warn("closing connection to {}: {}", ctx.channel().remoteAddress(),
          cause instanceof AesGcmCodec.RecordException ? cause.getMessage() : cause.toString());
      ctx.close();
    }
  }

  private static final PendingRead DISCARD = new PendingRead(-1, null, 0, 0);
  static {
    DISCARD.done = true;
  }
}
