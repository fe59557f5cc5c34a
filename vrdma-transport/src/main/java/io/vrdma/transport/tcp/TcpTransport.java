package io.vrdma.transport.tcp;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.rsocket.RsocketProbe;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The node's Netty machinery: one event-loop group shared by the control server and every client
 * connection, native epoll when it loads (sendfile for file regions), NIO otherwise. Under librdmacm's preload
 * (the rsocket tier) it is always NIO, and file regions are copied: the preload intercepts poll(2) and write(2)
 * but neither epoll nor sendfile, which would bypass the rsockets.
 */
public final class TcpTransport implements AutoCloseable {
  private final EventLoopGroup group;
  private final Class<? extends ServerChannel> serverChannelClass;
  private final Class<? extends Channel> channelClass;
  private final String detail;
  private final boolean copyFiles;
  private final TransportConf conf;
  /** Null for a client-only transport. */
  private final Channel serverChannel;

  private TcpTransport(TransportConf conf, String host, ChannelInitializer<SocketChannel> serverInit)
      throws TransportException {
    this.conf = conf;
    int threads = conf.getInt(TransportConf.TCP_IO_THREADS);
    boolean preload = RsocketProbe.preloadActive();
    this.copyFiles = copyFiles(conf);
    boolean epoll = !preload && conf.get(TransportConf.TCP_NATIVE_EPOLL) && Epoll.isAvailable();
    DefaultThreadFactory threadFactory = new DefaultThreadFactory("vrdma-tcp", true);
    if (epoll) {
      group = new EpollEventLoopGroup(threads, threadFactory);
      serverChannelClass = EpollServerSocketChannel.class;
      channelClass = EpollSocketChannel.class;
      detail = copyFiles ? "epoll, file regions copied" : "epoll";
    } else {
      group = new NioEventLoopGroup(threads, threadFactory);
      serverChannelClass = NioServerSocketChannel.class;
      channelClass = NioSocketChannel.class;
      detail = preload ? "nio, file regions copied: rsocket preload (no epoll, no sendfile)"
          : (conf.get(TransportConf.TCP_NATIVE_EPOLL)
              ? "nio, epoll unavailable: " + Epoll.unavailabilityCause()
              : "nio, epoll off by configuration") + (copyFiles ? ", file regions copied" : "");
    }
    if (serverInit == null) {
      serverChannel = null;
      return;
    }
    ServerBootstrap server = new ServerBootstrap()
        .group(group)
        .channel(serverChannelClass)
        .option(ChannelOption.SO_BACKLOG, 256)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
        .childHandler(serverInit);
    int port = conf.getInt(TransportConf.PORT);
    try {
      ChannelFuture bound = server.bind(host, port).awaitUninterruptibly();
      if (!bound.isSuccess()) {
        throw new TransportException("cannot listen on " + host + ":" + port + ": " + bound.cause(),
            bound.cause());
      }
      serverChannel = bound.channel();
    } catch (TransportException | RuntimeException e) {
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw e;
    }
  }

  /** Starts the event loops and the server listening on {@code host}. */
  public static TcpTransport start(TransportConf conf, String host, ChannelInitializer<SocketChannel> serverInit)
      throws TransportException {
    return new TcpTransport(conf, host, serverInit);
  }

  /**
   * Starts the event loops only, for a process that connects to peers but serves nothing: no socket listens.
   */
  public static TcpTransport startClientOnly(TransportConf conf) throws TransportException {
    return new TcpTransport(conf, null, null);
  }

  /** Where the server listens; null for a client-only transport. */
  public InetSocketAddress localAddress() {
    return serverChannel == null ? null : (InetSocketAddress) serverChannel.localAddress();
  }

  /** "epoll" or "nio" with the reason epoll is not used. */
  public String detail() {
    return detail;
  }

  /**
   * Whether file segments are served by copying: the process runs under librdmacm's preload, or
   * {@link TransportConf#TCP_COPY_FILES} says so.
   */
  public boolean copyFiles() {
    return copyFiles;
  }

  /** Whether a transport with {@code conf} in this process serves file segments by copying ({@link #copyFiles()}). */
  public static boolean copyFiles(TransportConf conf) {
    return RsocketProbe.preloadActive() || conf.get(TransportConf.TCP_COPY_FILES);
  }

  /**
   * Opens a client connection. The handshake is the caller's (it is a request like the others).
   *
   * @throws PeerUnavailableException when the socket cannot be connected within the connect timeout
   */
  public TcpClientChannel connect(String host, int port) throws PeerUnavailableException {
    int maxFrame = conf.getInt(TransportConf.TCP_MAX_FRAME);
    long readTimeout = conf.readTimeoutMillis();
    long connectTimeout = conf.connectTimeoutMillis();
    TcpClientChannel.Handler handler = new TcpClientChannel.Handler(maxFrame);
    Bootstrap bootstrap = new Bootstrap()
        .group(group)
        .channel(channelClass)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
        .option(ChannelOption.RCVBUF_ALLOCATOR, new PlacementRecvAllocator(handler))
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout))
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast("vrdma-client", handler);
          }
        });
    ChannelFuture connected = bootstrap.connect(host, port);
    if (!connected.awaitUninterruptibly(connectTimeout + 1000) || !connected.isSuccess()) {
      connected.channel().close();
      Throwable cause = connected.cause();
      throw new PeerUnavailableException("cannot connect to " + host + ":" + port + ": "
          + (cause == null ? "timed out after " + connectTimeout + " ms" : cause.getMessage()), cause);
    }
    return new TcpClientChannel(connected.channel(), handler, readTimeout);
  }

  @Override
  public void close() {
    if (serverChannel != null) {
      serverChannel.close().awaitUninterruptibly();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
