package io.vrdma.transport.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.vrdma.transport.ControlHandler;
import io.vrdma.transport.InboundConnection;
import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.ReadAuthorizer;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.security.AesGcmCodec;
import io.vrdma.transport.security.SessionKeys;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one peer's connection: the handshake, control requests (handed to the node's
 * {@link ControlHandler}) and reads of tcp registrations, answered with the file segment itself
 * ({@link DefaultFileRegion}, sendfile under epoll) or the registered buffer, without copying — or, once the
 * control handler switched the connection to encryption, with the segment read in chunks and encrypted. Anything
 * malformed closes this connection with one log line; the server and its other connections go on.
 */
public final class TcpServerHandler extends SimpleChannelInboundHandler<ByteBuf> implements InboundConnection {
  private static final Logger LOG = LoggerFactory.getLogger(TcpServerHandler.class);

  private final Supplier<NodeAdvertisement> advertisement;
  private final Supplier<ControlHandler> controlHandler;
  private final TcpRegistrations registrations;
  private final Supplier<ReadAuthorizer> readAuthorizer;
  private final Supplier<DescriptorCheck> verbsCheck;
  private final boolean encryptionRequired;
  /** Copy file segments through a buffer instead of sendfile: the socket may be an rsocket, which sendfile bypasses. */
  private final boolean copyFiles;
  /** Keys agreed while handling the current request; installed once its answer is written. Event-loop only. */
  private SessionKeys pendingKeys;
  private volatile boolean encrypted;
  private final ConcurrentMap<String, Object> attributes = new ConcurrentHashMap<>();
  private volatile NodeAdvertisement peer;
  private ChannelHandlerContext ctx;

  public TcpServerHandler(Supplier<NodeAdvertisement> advertisement, Supplier<ControlHandler> controlHandler,
      TcpRegistrations registrations, Supplier<ReadAuthorizer> readAuthorizer) {
    this(advertisement, controlHandler, registrations, readAuthorizer, () -> null);
  }

  /**
   * @param verbsCheck answers peers' VERBS_CHECK frames: the node's verbs tier, or null when it has none
   */
  public TcpServerHandler(Supplier<NodeAdvertisement> advertisement, Supplier<ControlHandler> controlHandler,
      TcpRegistrations registrations, Supplier<ReadAuthorizer> readAuthorizer, Supplier<DescriptorCheck> verbsCheck) {
    this(advertisement, controlHandler, registrations, readAuthorizer, verbsCheck, false);
  }

  /**
   * @param encryptionRequired refuse reads on a connection until it is encrypted
   *     ({@link io.vrdma.transport.config.TransportConf#ENCRYPTION_REQUIRED})
   */
  public TcpServerHandler(Supplier<NodeAdvertisement> advertisement, Supplier<ControlHandler> controlHandler,
      TcpRegistrations registrations, Supplier<ReadAuthorizer> readAuthorizer, Supplier<DescriptorCheck> verbsCheck,
      boolean encryptionRequired) {
    this(advertisement, controlHandler, registrations, readAuthorizer, verbsCheck, encryptionRequired, false);
  }

  /**
   * @param copyFiles answer reads of file segments with a copy of the bytes instead of a zero-copy file region:
   *     needed under librdmacm's preload, which intercepts write(2) but not the sendfile(2) a file region uses
   *     ({@link TcpTransport#copyFiles()})
   */
  public TcpServerHandler(Supplier<NodeAdvertisement> advertisement, Supplier<ControlHandler> controlHandler,
      TcpRegistrations registrations, Supplier<ReadAuthorizer> readAuthorizer, Supplier<DescriptorCheck> verbsCheck,
      boolean encryptionRequired, boolean copyFiles) {
    this.copyFiles = copyFiles;
    this.encryptionRequired = encryptionRequired;
    this.advertisement = advertisement;
    this.controlHandler = controlHandler;
    this.registrations = registrations;
    this.readAuthorizer = readAuthorizer;
    this.verbsCheck = verbsCheck;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
    if (frame.readableBytes() < Frames.HEADER_AFTER_LENGTH) {
      refuse("frame of " + frame.readableBytes() + " bytes is shorter than its header");
      return;
    }
    byte type = frame.readByte();
    long id = frame.readLong();
    if (peer == null && type != Frames.HELLO) {
      refuse("first frame is " + Frames.typeName(type) + ", expected HELLO");
      return;
    }
    switch (type) {
      case Frames.HELLO -> hello(id, frame);
      case Frames.REQUEST -> request(id, frame);
      case Frames.READ -> read(id, frame);
      case Frames.VERBS_CHECK -> verbsCheck(id, frame);
      default -> refuse("unexpected frame " + Frames.typeName(type) + " from a client");
    }
  }

  private void hello(long id, ByteBuf frame) {
    if (peer != null) {
      refuse("second HELLO on one connection");
      return;
    }
    try {
      peer = NodeAdvertisement.fromBytes(frame.nioBuffer());
    } catch (TransportException e) {
      refuse("bad HELLO: " + e.getMessage());
      return;
    }
    byte[] own = advertisement.get().toBytes();
    ByteBuf answer = Frames.header(ctx.alloc(), Frames.HELLO_ACK, id, own.length, own.length);
    ctx.writeAndFlush(answer.writeBytes(own));
  }

  private void request(long id, ByteBuf frame) {
    ControlHandler handler = controlHandler.get();
    if (handler == null) {
      ctx.writeAndFlush(Frames.error(ctx.alloc(), id, Frames.ERROR_FAILED, "node has no control handler"));
      return;
    }
    CompletableFuture<ByteBuffer> answer;
    try {
      answer = handler.handle(this, frame.nioBuffer());
    } catch (Exception e) {
      answer = CompletableFuture.failedFuture(e);
    }
    // taken here, on the event loop that ran the handler: only this request's answer may switch the connection
    SessionKeys switchAfter = pendingKeys;
    pendingKeys = null;
    answer.whenComplete((response, failure) -> {
      if (failure != null) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause() : failure;
        ctx.writeAndFlush(Frames.error(ctx.alloc(), id, Frames.ERROR_FAILED, String.valueOf(cause.getMessage())));
        return;
      }
      ByteBuf out = Frames.header(ctx.alloc(), Frames.RESPONSE, id, response.remaining(), response.remaining());
      ctx.writeAndFlush(out.writeBytes(response));
      SessionKeys keys = switchAfter;
      if (keys != null) {
        // after the plaintext answer went down the pipeline: the peer switches when it has read it
        if (ctx.executor().inEventLoop()) {
          encrypt(keys);
        } else {
          ctx.executor().execute(() -> encrypt(keys));
        }
      }
    });
  }

  private void encrypt(SessionKeys keys) {
    if (encrypted || !ctx.channel().isActive()) {
      return;
    }
    AesGcmCodec.install(ctx.pipeline(), keys, false);
    // file segments go out as chunks read into buffers and encrypted: sendfile would bypass the encoder
    ctx.pipeline().addBefore(ctx.name(), "vrdma-chunked", new ChunkedWriteHandler());
    encrypted = true;
  }

  @Override
  public void startEncryptionAfterAnswer(SessionKeys keys) {
    if (!ctx.executor().inEventLoop()) {
      throw new IllegalStateException("startEncryptionAfterAnswer is for the control handler, on the event loop");
    }
    if (!encrypted) {
      pendingKeys = keys;
    }
  }

  @Override
  public boolean encrypted() {
    return encrypted;
  }

  private void verbsCheck(long id, ByteBuf frame) {
    if (frame.readableBytes() != RegionDescriptor.SERIALIZED_BYTES) {
      refuse("VERBS_CHECK with a payload of " + frame.readableBytes() + " bytes, expected "
          + RegionDescriptor.SERIALIZED_BYTES);
      return;
    }
    RegionDescriptor descriptor;
    try {
      descriptor = RegionDescriptor.readFrom(frame.nioBuffer());
    } catch (TransportException e) {
      ctx.writeAndFlush(Frames.error(ctx.alloc(), id, Frames.ERROR_INVALID, e.getMessage()));
      return;
    }
    ReadAuthorizer authorizer = readAuthorizer.get();
    if (authorizer != null && !authorizer.mayRead(this, descriptor)) {
      refuse("verbs reads of " + descriptor + " refused by the read authorizer");
      return;
    }
    DescriptorCheck check = verbsCheck.get();
    try {
      if (check == null) {
        throw new TransportException.RegionNotFoundException("node " + advertisement.get() + " has no verbs tier");
      }
      check.check(descriptor);
    } catch (TransportException.InvalidDescriptorException e) {
      ctx.writeAndFlush(Frames.error(ctx.alloc(), id, Frames.ERROR_INVALID, e.getMessage()));
      return;
    } catch (TransportException e) {
      ctx.writeAndFlush(Frames.error(ctx.alloc(), id, Frames.ERROR_NOT_FOUND, e.getMessage()));
      return;
    }
    ctx.writeAndFlush(Frames.header(ctx.alloc(), Frames.RESPONSE, id, 0, 0));
  }

  /** Judges a descriptor that a peer wants to read one-sidedly. */
  @FunctionalInterface
  public interface DescriptorCheck {
    /**
     * @throws TransportException.RegionNotFoundException when no live registration matches it
     * @throws TransportException.InvalidDescriptorException when it claims more than the registration has
     */
    void check(RegionDescriptor descriptor) throws TransportException;
  }

  private void read(long id, ByteBuf frame) {
    if (frame.readableBytes() != Frames.READ_PAYLOAD_BYTES) {
      refuse("READ with a payload of " + frame.readableBytes() + " bytes, expected " + Frames.READ_PAYLOAD_BYTES);
      return;
    }
    if (encryptionRequired && !encrypted) {
      refuse("READ on an unencrypted connection: this node requires encryption"
          + " (vrdma.transport.encryption.required); the peer must prove a secret and encrypt first");
      return;
    }
    long key = frame.readLong();
    long offset = frame.readLong();
    int length = frame.readInt();
    if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
      // checked before anything is built from them: offset + length must not overflow
      ctx.writeAndFlush(Frames.error(ctx.alloc(), id, Frames.ERROR_INVALID, "read [" + offset + ", +" + length
          + ") of region " + Long.toHexString(key) + " has a negative or overflowing range"));
      return;
    }
    ReadAuthorizer authorizer = readAuthorizer.get();
    if (authorizer != null && !authorizer.mayRead(this,
        new RegionDescriptor(registrations.tierOf(key), advertisement.get().nodeId(), 0, key, offset + length))) {
      refuse("READ of region " + Long.toHexString(key) + " refused by the read authorizer");
      return;
    }
    RegionSource region = registrations.get(key);
    if (region == null) {
      ctx.writeAndFlush(Frames.error(ctx.alloc(), id, Frames.ERROR_NOT_FOUND,
          "region " + Long.toHexString(key) + " is not registered on " + advertisement.get()));
      return;
    }
    if (offset > region.length() - length) {
      ctx.writeAndFlush(Frames.error(ctx.alloc(), id, Frames.ERROR_INVALID, "read [" + offset + ", +" + length
          + ") is outside region " + Long.toHexString(key) + " of " + region.length() + " bytes"));
      return;
    }
    if (region instanceof RegionSource.FileSegment file) {
      sendFile(id, file, offset, length);
    } else if (region instanceof RegionSource.BufferRegion buffer) {
      ctx.write(Frames.header(ctx.alloc(), Frames.READ_DATA, id, length, 0));
      ctx.writeAndFlush(Unpooled.wrappedBuffer(buffer.buffer().slice((int) offset, length)));
    }
  }

  private void sendFile(long id, RegionSource.FileSegment file, long offset, int length) {
    OpenFiles.Entry open;
    try {
      open = registrations.openFiles().acquire(file.file());
    } catch (IOException e) {
      ctx.writeAndFlush(Frames.error(ctx.alloc(), id, Frames.ERROR_FAILED, "cannot open " + file.file() + ": " + e));
      return;
    }
    ctx.write(Frames.header(ctx.alloc(), Frames.READ_DATA, id, length, 0));
    if (encrypted) {
      try {
        // read chunk by chunk as the socket drains (ChunkedWriteHandler), each chunk encrypted on its way out
        ctx.writeAndFlush(new ChunkedNioFile(open.channel, file.offset() + offset, length, AesGcmCodec.RECORD_BYTES) {
          @Override
          public void close() {
            open.release(); // the channel is shared: give it back instead of closing it
          }
        });
      } catch (IOException e) {
        open.release();
        refuse("cannot read " + file.file() + " after a READ_DATA header was sent: " + e);
      }
      return;
    }
    if (copyFiles) {
      copyFile(open, file, offset, length);
      return;
    }
    ctx.writeAndFlush(new DefaultFileRegion(open.channel, file.offset() + offset, length) {
      @Override
      protected void deallocate() {
        open.release(); // the channel is shared: give it back instead of closing it
      }
    });
  }

  private void copyFile(OpenFiles.Entry open, RegionSource.FileSegment file, long offset, int length) {
    ByteBuf copy = ctx.alloc().directBuffer(length);
    try {
      ByteBuffer into = copy.nioBuffer(0, length);
      long at = file.offset() + offset;
      while (into.hasRemaining()) {
        int n = open.channel.read(into, at + into.position());
        if (n < 0) {
          throw new IOException("end of file at " + (at + into.position()) + ", " + into.remaining() + " bytes short");
        }
      }
      copy.writerIndex(length);
      ctx.writeAndFlush(copy);
      copy = null;
    } catch (IOException e) {
      refuse("cannot read " + file.file() + " after a READ_DATA header was sent: " + e);
    } finally {
      open.release();
      if (copy != null) {
        copy.release();
      }
    }
  }

  private void refuse(String why) {
    LOG.warn("closing connection from {}: {}", ctx.channel().remoteAddress(), why);
    ctx.close();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof AesGcmCodec.RecordException) {
      refuse(cause.getMessage());
    } else if (cause instanceof TooLongFrameException || cause instanceof io.netty.handler.codec.CorruptedFrameException) {
      refuse(cause.getMessage() + " (limit vrdma.transport.tcp.maxFrameBytes)");
    } else if (cause instanceof IOException) {
      LOG.debug("connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    } else {
      refuse(cause.toString());
    }
  }

  @Override
  public NodeAdvertisement peer() {
    return peer;
  }

  @Override
  public SocketAddress remoteAddress() {
    return ctx.channel().remoteAddress();
  }

  @Override
  public ConcurrentMap<String, Object> attributes() {
    return attributes;
  }

  @Override
  public void onClose(Runnable action) {
    ctx.channel().closeFuture().addListener(f -> action.run());
  }

  @Override
  public void close() {
    ctx.close();
  }
}
