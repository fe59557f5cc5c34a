package io.vrdma.transport.verbs;

import com.ibm.disni.RdmaActiveEndpointGroup;
import com.ibm.disni.RdmaServerEndpoint;
import com.ibm.disni.util.MemoryUtils;
import com.ibm.disni.verbs.IbvMr;
import com.ibm.disni.verbs.IbvPd;
import com.ibm.disni.verbs.SVCRegMr;
import io.vrdma.transport.NodeAdvertisement;
import io.vrdma.transport.RegionDescriptor;
import io.vrdma.transport.RegionSource;
import io.vrdma.transport.Tier;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.TransportException.ReadTimeoutException;
import io.vrdma.transport.TransportException.ResourceFullException;
import io.vrdma.transport.buffer.BufferPool;
import io.vrdma.transport.buffer.PooledBuffer;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.tcp.TcpClientChannel;
import io.vrdma.transport.tier.DataPath;
import io.vrdma.transport.tier.TierProvider;
import io.vrdma.transport.tier.TierRegistration;
import io.vrdma.transport.verbs.VerbsProbe.Check;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The verbs tier: one-sided RDMA READs through DiSNI on whatever ibverbs device the node has (a
 * paravirtual vRDMA/pvrdma device, an SR-IOV function, an HCA, Soft-RoCE).
 *
 * <p>A node has one DiSNI endpoint group (its rdma_cm event thread and, per device, a completion queue
 * with its thread, blocking on the completion channel or busy-polling as configured), one server
 * endpoint that peers connect to, and the device's protection domain. Registering a region maps it
 * (file segments with {@code mmap}) and registers it for remote read, in pieces when it is longer than
 * one registration may be; the descriptor carries the address and rkey. The reading side registers the
 * node's pooled receive buffers on first use and deregisters them when the pool lets them go.
 */
public final class VerbsTier implements TierProvider {
  private static final Logger LOG = LoggerFactory.getLogger(VerbsTier.class);
  /** How long DiSNI's event threads block before looking whether they are closed. */
  private static final int EVENT_TIMEOUT_MS = 100;
  private static final int SERVE_ACCESS = IbvMr.IBV_ACCESS_REMOTE_READ;
  private static final int RECEIVE_ACCESS = IbvMr.IBV_ACCESS_LOCAL_WRITE;

  private final long nodeId;
  private final BufferPool pool;
  private final RdmaActiveEndpointGroup<VerbsEndpoint> group;
  private final RdmaServerEndpoint<VerbsEndpoint> server;
  private final IbvPd pd;
  private final InetSocketAddress listening;
  private final int window;
  private final long connectTimeoutMillis;
  private final long readTimeoutMillis;
  private final long maxRegistered;
  private final long pieceBytes;
  private final String detail;
  private final AtomicInteger cqCredits;
  private final AtomicLong registeredBytes = new AtomicLong();
  private final Map<Long, IbvMr> receiveRegistrations = new ConcurrentHashMap<>();
  private final Set<Served> served = ConcurrentHashMap.newKeySet();
  /** Live registrations by their descriptor's key, for peers' VERBS_CHECK. */
  private final Map<Long, RegionDescriptor> byKey = new ConcurrentHashMap<>();
  private final Set<VerbsEndpoint> endpoints = ConcurrentHashMap.newKeySet();
  private final ExecutorService closer = Executors.newSingleThreadExecutor(daemon("vrdma-verbs-close"));
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(daemon("vrdma-verbs-timer"));
  private final Thread acceptor;
  private volatile boolean closed;

  private VerbsTier(TransportConf conf, long nodeId, BufferPool pool, RdmaActiveEndpointGroup<VerbsEndpoint> group,
      RdmaServerEndpoint<VerbsEndpoint> server, InetSocketAddress listening, int window, String detail) throws IOException {
    this.nodeId = nodeId;
    this.pool = pool;
    this.group = group;
    this.server = server;
    this.pd = server.getPd();
    this.listening = listening;
    this.window = window;
    this.detail = detail;
    this.connectTimeoutMillis = conf.connectTimeoutMillis();
    this.readTimeoutMillis = conf.readTimeoutMillis();
    this.maxRegistered = conf.get(TransportConf.VERBS_MAX_REGISTERED);
    this.pieceBytes = conf.get(TransportConf.VERBS_PIECE_BYTES);
    this.cqCredits = new AtomicInteger(conf.getInt(TransportConf.VERBS_CQ_SIZE));
    pool.onMemoryFreed(this::deregisterReceiveMemory);
    long sweep = Math.max(20, readTimeoutMillis / 4);
    timer.scheduleAtFixedRate(this::failOverdueReads, sweep, sweep, TimeUnit.MILLISECONDS);
    this.acceptor = new Thread(this::acceptLoop, "vrdma-verbs-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /**
   * Probes the tier and starts it: DiSNI's library and its version, an RDMA device with an address,
   * the locked-memory limit, an rdma_cm listener and a test registration.
   *
   * @throws TransportException with a one-line reason when the tier cannot run on this node
   */
  public static VerbsTier open(TransportConf conf, long nodeId, BufferPool pool) throws TransportException {
    Check<Path> library = VerbsProbe.locateLibrary(System.getProperty("java.library.path"),
        System.getenv(VerbsProbe.LIBDISNI_ENV));
    if (!library.passed()) {
      throw new TransportException(library.reason());
    }
    Check<Integer> disni;
    try {
      disni = Disni.load(library.value());
    } catch (LinkageError e) {
      throw new TransportException("the DiSNI jar (com.ibm.disni:disni:2.1) cannot be linked: " + e, e);
    }
    if (!disni.passed()) {
      throw new TransportException(disni.reason(), disni.cause());
    }
    List<String> devices = VerbsProbe.devices(VerbsProbe.DEVICES);
    if (devices.isEmpty()) {
      throw new TransportException("no RDMA device: " + VerbsProbe.DEVICES + " is empty or absent (load the device's"
          + " driver: vmw_pvrdma, mlx5_ib, or rdma_rxe plus 'rdma link add' for Soft-RoCE)");
    }
    long poolBytes = conf.get(TransportConf.POOL_MAX_BYTES);
    long registerBytes = conf.get(TransportConf.VERBS_MAX_REGISTERED);
    Check<Long> memlock = VerbsProbe.checkMemlock(VerbsProbe.readProc("/proc/self/limits"),
        VerbsProbe.readProc("/proc/self/status"), poolBytes + registerBytes,
        TransportConf.POOL_MAX_BYTES.name() + " " + poolBytes + " + " + TransportConf.VERBS_MAX_REGISTERED.name()
            + " " + registerBytes);
    if (!memlock.passed()) {
      throw new TransportException(memlock.reason());
    }
    InetAddress address = bindAddress(conf, devices);
    String device = devices.stream().filter(d -> VerbsProbe.deviceAddress(VerbsProbe.DEVICES, d)
        .filter(address::equals).isPresent()).findFirst().orElse(devices.get(0));
    Optional<DeviceLimits> limits = DeviceLimits.query(device);
    int queueDepth = conf.getInt(TransportConf.VERBS_QUEUE_DEPTH);
    int cqSize = conf.getInt(TransportConf.VERBS_CQ_SIZE);
    int reads = Math.min(conf.getInt(TransportConf.VERBS_READS_IN_FLIGHT), queueDepth);
    if (limits.isPresent()) {
      queueDepth = Math.min(queueDepth, limits.get().maxQpWr());
      cqSize = Math.min(cqSize, limits.get().maxCqe());
      reads = Math.min(reads, Math.min(queueDepth, limits.get().maxQpInitRdAtom()));
    }
    boolean polling = conf.get(TransportConf.VERBS_COMPLETION).equals("poll");
    RdmaActiveEndpointGroup<VerbsEndpoint> group = null;
    try {
      try {
        group = new RdmaActiveEndpointGroup<>(EVENT_TIMEOUT_MS, polling, queueDepth, 1, cqSize);
      } catch (IOException e) {
        throw new TransportException("no RDMA device: rdma_cm finds none (" + e.getMessage() + "; devices " + devices
            + "; is rdma_ucm loaded and /dev/infiniband/rdma_cm accessible?)", e);
      }
      VerbsTier[] self = new VerbsTier[1];
      RdmaActiveEndpointGroup<VerbsEndpoint> g = group;
      group.init((id, serverSide) -> new VerbsEndpoint(g, id, serverSide, self[0]));
      // retry_count 7: a lost packet (an emulated NIC drops some) is resent, not a dead queue pair
      group.getConnParam().setRetry_count((byte) 7);
      group.getConnParam().setRnr_retry_count((byte) 7);
      RdmaServerEndpoint<VerbsEndpoint> server = group.createServerEndpoint();
      InetSocketAddress bound;
      try {
        server.bind(new InetSocketAddress(address, conf.getInt(TransportConf.VERBS_PORT)), 128);
        bound = (InetSocketAddress) server.getSrcAddr();
      } catch (Exception e) {
        throw new TransportException("rdma_cm cannot listen on " + address.getHostAddress() + ": " + e.getMessage()
            + " (set " + TransportConf.VERBS_ADDRESS.name() + " to the address of an RDMA interface)", e);
      }
      if (server.getPd() == null) {
        throw new TransportException("rdma_cm bound " + address.getHostAddress() + " to no RDMA device (set "
            + TransportConf.VERBS_ADDRESS.name() + " to the address of an RDMA interface)");
      }
      probeRegistration(server.getPd());
      String detail = "DiSNI 2.1 (" + library.value() + ", JNI " + disni.value() + ") on " + device + " at "
          + bound.getAddress().getHostAddress() + ":" + bound.getPort() + ", completion "
          + (polling ? "polling" : "channel") + ", " + reads + " reads in flight per queue pair"
          + limits.map(l -> " (device max_qp_init_rd_atom " + l.maxQpInitRdAtom() + ", max_qp_rd_atom "
              + l.maxQpRdAtom() + ")").orElse(" (device limits unknown: no ibv_devinfo)")
          + ", queue depth " + queueDepth + ", CQ " + cqSize;
      self[0] = new VerbsTier(conf, nodeId, pool, group, server, bound, reads, detail);
      return self[0];
    } catch (TransportException | RuntimeException e) {
      closeQuietly(group);
      throw e;
    } catch (IOException e) {
      closeQuietly(group);
      throw new TransportException("verbs tier cannot start: " + e.getMessage(), e);
    }
  }

  private static InetAddress bindAddress(TransportConf conf, List<String> devices) throws TransportException {
    String configured = conf.get(TransportConf.VERBS_ADDRESS);
    if (!configured.isEmpty()) {
      try {
        return InetAddress.getByName(configured);
      } catch (UnknownHostException e) {
        throw new TransportException(TransportConf.VERBS_ADDRESS.name() + " = " + configured + " does not resolve", e);
      }
    }
    return VerbsProbe.anyDeviceAddress().orElseThrow(() -> new TransportException("no RDMA device has an IPv4"
        + " address (devices " + devices + "): give its interface one, or set " + TransportConf.VERBS_ADDRESS.name()));
  }

  private static void probeRegistration(IbvPd pd) throws TransportException {
    ByteBuffer probe = ByteBuffer.allocateDirect(4096);
    try {
      SVCRegMr reg = pd.regMr(probe, SERVE_ACCESS | RECEIVE_ACCESS).execute();
      IbvMr mr = reg.getMr();
      reg.free();
      mr.deregMr().execute().free();
    } catch (IOException e) {
      throw new TransportException("registration refused: the RDMA device would not register 4 KiB ("
          + e.getMessage() + "; check RLIMIT_MEMLOCK and /dev/infiniband permissions)", e);
    }
  }

  private static void closeQuietly(RdmaActiveEndpointGroup<VerbsEndpoint> group) {
    if (group == null) {
      return;
    }
    try {
      group.close();
    } catch (Exception e) {
      LOG.debug("closing the DiSNI group after a failed start: {}", e.toString());
    }
  }

  @Override
  public Tier tier() {
    return Tier.VERBS;
  }

  /** What a peer needs to connect: the rdma_cm port, then the address. */
  @Override
  public long windowBytes() {
    return maxRegistered;
  }

  @Override
  public byte[] advertisedInfo() {
    byte[] ip = listening.getAddress().getAddress();
    return ByteBuffer.allocate(4 + 1 + ip.length).putInt(listening.getPort()).put((byte) ip.length).put(ip).array();
  }

  /** Reads the rdma_cm address a peer advertised. */
  static InetSocketAddress peerAddress(NodeAdvertisement peer) throws TransportException {
    byte[] info = peer.tiers().get(Tier.VERBS);
    try {
      ByteBuffer b = ByteBuffer.wrap(info);
      int port = b.getInt();
      byte[] ip = new byte[b.get()];
      b.get(ip);
      return new InetSocketAddress(InetAddress.getByAddress(ip), port);
    } catch (RuntimeException | UnknownHostException e) {
      throw new TransportException.InvalidDescriptorException(peer + " advertises malformed verbs details");
    }
  }

  @Override
  public String detail() {
    return detail;
  }

  /** Reads in flight per queue pair. */
  public int readsInFlight() {
    return window;
  }

  /** Regions registered for peers and not yet freed, for leak checks. */
  public int registeredRegions() {
    return served.size();
  }

  /** Receive buffers registered with the device. */
  public int registeredReceiveBuffers() {
    return receiveRegistrations.size();
  }

  @Override
  public TierRegistration register(RegionSource source) throws TransportException {
    ensureOpen();
    long length = source.length();
    if (length == 0) {
      return TierRegistration.of(new RegionDescriptor(Tier.VERBS, nodeId, 0, 0, 0), () -> { });
    }
    if (registeredBytes.addAndGet(length) > maxRegistered) {
      registeredBytes.addAndGet(-length);
      throw new ResourceFullException("verbs registrations would exceed " + maxRegistered + " bytes ("
          + TransportConf.VERBS_MAX_REGISTERED.name() + ") with " + source);
    }
    Exception failure;
    try {
      return registerMapped(source, length, mapMode(source));
    } catch (IOException | RuntimeException e) {
      failure = e;
    }
    if (source instanceof RegionSource.FileSegment && readOnlyMappingsRegister
        && String.valueOf(failure.getMessage()).contains("Bad address")) {
      try {
        TierRegistration r = registerMapped(source, length, writableMapping(source));
        readOnlyMappingsRegister = false;
        LOG.info("verbs tier: this kernel does not register read-only file mappings; file segments are mapped"
            + " writable from now on (shared when the file is writable, else private; never written)");
        return r;
      } catch (IOException | RuntimeException e) {
        failure = e;
      }
    }
    registeredBytes.addAndGet(-length);
    throw new TransportException("the RDMA device refused to register " + source + ": " + failure.getMessage(),
        failure);
  }

  private TierRegistration registerMapped(RegionSource source, long length, FileChannel.MapMode mode)
      throws IOException {
    Served region = new Served(length);
    try {
      List<ByteBuffer> pieces = memoryOf(source, mode);
      List<Pieces.Piece> table = new ArrayList<>();
      for (ByteBuffer piece : pieces) {
        IbvMr mr = region.register(piece, SERVE_ACCESS);
        table.add(new Pieces.Piece(mr.getAddr(), mr.getRkey()));
      }
      RegionDescriptor descriptor;
      if (table.size() == 1) {
        descriptor = new RegionDescriptor(Tier.VERBS, nodeId, table.get(0).address(),
            table.get(0).rkey() & 0xffffffffL, length);
      } else {
        Pieces.Table t = new Pieces.Table(pieceBytes, table);
        ByteBuffer encoded = t.encode(ByteBuffer.allocateDirect(t.encodedBytes())).flip();
        IbvMr mr = region.register(encoded, SERVE_ACCESS);
        descriptor = new RegionDescriptor(Tier.VERBS, nodeId, mr.getAddr(),
            Pieces.TABLE_FLAG | (mr.getRkey() & 0xffffffffL), length);
      }
      served.add(region);
      byKey.put(descriptor.key(), descriptor);
      return TierRegistration.of(descriptor, () -> {
        if (served.remove(region)) {
          byKey.remove(descriptor.key(), descriptor);
          region.free();
        }
      });
    } catch (IOException | RuntimeException e) {
      region.abandon();
      throw e;
    }
  }

  /** The region's bytes as direct buffers of at most {@link #pieceBytes} each (file segments mapped). */
  private List<ByteBuffer> memoryOf(RegionSource source, FileChannel.MapMode mode) throws IOException {
    List<ByteBuffer> out = new ArrayList<>();
    if (source instanceof RegionSource.BufferRegion b) {
      ByteBuffer buffer = b.buffer();
      if (!buffer.isDirect()) {
        // heap memory moves under the GC; registered memory must stay put
        buffer = ByteBuffer.allocateDirect(buffer.remaining()).put(buffer.duplicate()).flip();
      }
      for (long at = 0; at < buffer.remaining(); at += pieceBytes) {
        out.add(buffer.slice((int) at, (int) Math.min(pieceBytes, buffer.remaining() - at)));
      }
      return out;
    }
    RegionSource.FileSegment segment = (RegionSource.FileSegment) source;
    StandardOpenOption[] open = mode == FileChannel.MapMode.READ_WRITE
        ? new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE}
        : new StandardOpenOption[] {StandardOpenOption.READ};
    try (FileChannel file = FileChannel.open(segment.file(), open)) {
      if (file.size() < segment.offset() + segment.length()) {
        throw new IOException(segment.file() + " ends before " + (segment.offset() + segment.length()));
      }
      long at = 0;
      for (long piece : Pieces.split(segment.length(), pieceBytes)) {
        out.add(file.map(mode, segment.offset() + at, piece));
        at += piece;
      }
    }
    return out;
  }

  /**
   * How file segments are mapped for registration. Kernels before 6.2 pin user memory for a registration
   * with FOLL_WRITE|FOLL_FORCE even for read-only access, which a read-only shared mapping refuses
   * (EFAULT): there a segment is mapped read-write if the file is writable (never written: peers only
   * read), else privately. The first refusal switches the node over.
   */
  private volatile boolean readOnlyMappingsRegister = true;

  private FileChannel.MapMode mapMode(RegionSource source) {
    return readOnlyMappingsRegister ? FileChannel.MapMode.READ_ONLY : writableMapping(source);
  }

  private FileChannel.MapMode writableMapping(RegionSource source) {
    if (source instanceof RegionSource.FileSegment f && java.nio.file.Files.isWritable(f.file())) {
      return FileChannel.MapMode.READ_WRITE;
    }
    return FileChannel.MapMode.PRIVATE;
  }

  /** A region served to peers: its registrations and the memory they pin (kept reachable until freed). */
  private final class Served {
    final long length;
    final List<IbvMr> registrations = new ArrayList<>();
    final List<ByteBuffer> memory = new ArrayList<>();
    private boolean freed;

    Served(long length) {
      this.length = length;
    }

    IbvMr register(ByteBuffer buffer, int access) throws IOException {
      SVCRegMr reg = pd.regMr(MemoryUtils.getAddress(buffer), buffer.remaining(), access).execute();
      IbvMr mr = reg.getMr();
      reg.free();
      synchronized (this) {
        registrations.add(mr);
        memory.add(buffer);
      }
      return mr;
    }

    synchronized void free() {
      if (!freed) {
        abandon();
        registeredBytes.addAndGet(-length);
      }
    }

    /** Deregisters what a failed registration got done; the budget is the caller's to give back. */
    synchronized void abandon() {
      freed = true;
      for (IbvMr mr : registrations) {
        deregister(mr);
      }
      registrations.clear();
      memory.clear();
    }
  }

  private static void deregister(IbvMr mr) {
    try {
      mr.deregMr().execute().free();
    } catch (IOException e) {
      LOG.warn("deregistering {} bytes at 0x{} failed: {}", mr.getLength(), Long.toHexString(mr.getAddr()),
          e.getMessage());
    }
  }

  /**
   * Answers a peer's VERBS_CHECK: whether a descriptor names one of this node's live registrations and
   * claims no more than it holds. Peers ask before their first RDMA READ with a descriptor, because a
   * device may leave a READ with a bad key or range unanswered rather than fail it (Soft-RoCE on Linux
   * 6.1 does), which would cost a read timeout and the queue pair.
   */
  public void check(RegionDescriptor d) throws TransportException {
    if (d.tier() != Tier.VERBS || d.owner() != nodeId) {
      throw new TransportException.InvalidDescriptorException(d + " is not a verbs descriptor of node "
          + Long.toHexString(nodeId));
    }
    RegionDescriptor live = byKey.get(d.key());
    if (live == null || live.address() != d.address()) {
      throw new TransportException.RegionNotFoundException("no verbs registration with key 0x"
          + Long.toHexString(d.key()) + " at 0x" + Long.toHexString(d.address()) + " on node "
          + Long.toHexString(nodeId) + " (freed, or a forged descriptor)");
    }
    if (d.length() > live.length()) {
      throw new TransportException.InvalidDescriptorException("descriptor claims " + d.length()
          + " bytes of a verbs registration of " + live.length());
    }
  }

  /** The local key of a pooled buffer's memory, registering it on first use. */
  int localKey(PooledBuffer buffer, long address) throws TransportException {
    IbvMr mr = receiveRegistrations.get(address);
    if (mr != null) {
      return mr.getLkey();
    }
    synchronized (receiveRegistrations) {
      mr = receiveRegistrations.get(address);
      if (mr == null) {
        ensureOpen();
        try {
          SVCRegMr reg = pd.regMr(address, buffer.capacity(), RECEIVE_ACCESS).execute();
          mr = reg.getMr();
          reg.free();
        } catch (IOException e) {
          throw new TransportException("the RDMA device refused to register a receive buffer of "
              + buffer.capacity() + " bytes: " + e.getMessage(), e);
        }
        receiveRegistrations.put(address, mr);
      }
      return mr.getLkey();
    }
  }

  private void deregisterReceiveMemory(ByteBuffer memory) {
    IbvMr mr = receiveRegistrations.remove(MemoryUtils.getAddress(memory));
    if (mr != null) {
      deregister(mr);
    }
  }

  @Override
  public DataPath open(NodeAdvertisement peer, TcpClientChannel control) throws TransportException {
    ensureOpen();
    VerbsPath path = new VerbsPath(this, peer, peerAddress(peer), control);
    path.endpoint();
    return path;
  }

  /** Connects a new queue pair to a peer's verbs server. */
  VerbsEndpoint connect(InetSocketAddress remote) throws TransportException {
    ensureOpen();
    int reads = reserveCredits();
    VerbsEndpoint ep;
    try {
      ep = group.createEndpoint();
    } catch (IOException e) {
      cqCredits.addAndGet(reads);
      throw new PeerUnavailableException("cannot create an rdma_cm id: " + e.getMessage(), e);
    }
    ep.window(reads);
    endpoints.add(ep);
    ScheduledFuture<?> watchdog = timer.schedule(() -> {
      try {
        ep.abandonConnect("no rdma_cm answer within " + connectTimeoutMillis + " ms");
      } catch (IOException e) {
        LOG.debug("abandoning a verbs connect: {}", e.toString());
      }
    }, connectTimeoutMillis, TimeUnit.MILLISECONDS);
    String failure = null;
    try {
      ep.connect(remote, (int) connectTimeoutMillis);
    } catch (Exception e) {
      failure = e.getMessage();
    } finally {
      watchdog.cancel(false);
    }
    if (!ep.isConnected()) {
      String why = ep.cmFailure() != null ? ep.cmFailure() : failure;
      PeerUnavailableException e = new PeerUnavailableException("verbs connection to " + remote + " failed: " + why);
      ep.breakWith(e);
      retire(ep, e);
      throw e;
    }
    try {
      if (ep.getPd().getHandle() != pd.getHandle()) {
        PeerUnavailableException e = new PeerUnavailableException("the route to " + remote
            + " leaves through another RDMA device than the one at " + listening);
        ep.breakWith(e);
        throw e;
      }
    } catch (IOException e) {
      throw new PeerUnavailableException("verbs connection to " + remote + ": " + e.getMessage(), e);
    }
    return ep;
  }

  private int reserveCredits() throws TransportException {
    while (true) {
      int left = cqCredits.get();
      if (left <= 0) {
        throw new ResourceFullException("the completion queue has no room for another connection's reads"
            + " (raise " + TransportConf.VERBS_CQ_SIZE.name() + ")");
      }
      int take = Math.min(window, left);
      if (cqCredits.compareAndSet(left, left - take)) {
        return take;
      }
    }
  }

  /** Tears a broken endpoint down off the event threads, then fails what it still had in flight. */
  void retire(VerbsEndpoint ep, TransportException cause) {
    if (!endpoints.remove(ep)) {
      return;
    }
    if (!ep.isServerSide()) {
      cqCredits.addAndGet(ep.window());
    }
    LOG.debug("verbs endpoint retired: {}", cause.getMessage());
    Runnable teardown = () -> {
      closeEndpoint(ep);
      ep.failInFlight(cause);
    };
    try {
      closer.execute(teardown);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      teardown.run();
    }
  }

  private static void closeEndpoint(VerbsEndpoint ep) {
    try {
      ep.close();
    } catch (Exception e) {
      LOG.debug("closing a verbs endpoint: {}", e.toString());
    }
  }

  private void failOverdueReads() {
    long now = System.nanoTime();
    for (VerbsEndpoint ep : endpoints) {
      long oldest = ep.oldestPostedNanos();
      if (oldest != Long.MAX_VALUE && now - oldest > TimeUnit.MILLISECONDS.toNanos(readTimeoutMillis)) {
        ep.breakWith(new ReadTimeoutException("an RDMA READ got no completion within " + readTimeoutMillis
            + " ms; the verbs connection is closed"));
      }
    }
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        VerbsEndpoint ep = server.accept();
        if (closed) {
          closeEndpoint(ep);
          return;
        }
        endpoints.add(ep);
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          LOG.warn("verbs tier: accepting a connection failed: {}", e.toString());
        }
      }
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("verbs tier is closed");
    }
  }

  /** Closes every queue pair, stops DiSNI's threads and frees every registration. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    timer.shutdownNow();
    try {
      server.close();
    } catch (Exception e) {
      LOG.debug("closing the verbs server endpoint: {}", e.toString());
    }
    synchronized (server) {
      server.notifyAll(); // wakes the acceptor, which then sees the tier closed
    }
    PeerUnavailableException gone = new PeerUnavailableException("the verbs tier of this node is closed");
    for (VerbsEndpoint ep : List.copyOf(endpoints)) {
      endpoints.remove(ep);
      ep.breakWith(gone);
      closeEndpoint(ep);
      ep.failInFlight(gone);
    }
    closer.shutdown();
    try {
      if (!closer.awaitTermination(10, TimeUnit.SECONDS)) {
        LOG.warn("verbs tier: queue pairs still closing after 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeQuietly(group);
    for (Served region : List.copyOf(served)) {
      served.remove(region);
      region.free();
    }
    byKey.clear();
    for (Long address : List.copyOf(receiveRegistrations.keySet())) {
      IbvMr mr = receiveRegistrations.remove(address);
      if (mr != null) {
        deregister(mr);
      }
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  long nodeId() {
    return nodeId;
  }

  BufferPool pool() {
    return pool;
  }
}
