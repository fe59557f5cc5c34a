package io.vrdma.transport.verbs;

import com.ibm.disni.RdmaActiveEndpoint;
import com.ibm.disni.RdmaActiveEndpointGroup;
import com.ibm.disni.verbs.IbvSendWR;
import com.ibm.disni.verbs.IbvSge;
import com.ibm.disni.verbs.IbvWC;
import com.ibm.disni.verbs.RdmaCmEvent;
import com.ibm.disni.verbs.RdmaCmId;
import com.ibm.disni.verbs.SVCPostSend;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.TransportException.PeerUnavailableException;
import io.vrdma.transport.TransportException.RegionNotFoundException;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedList;
import java.util.List;

/**
 * One rdma_cm connection (a reliable-connected queue pair) of the verbs tier. On the reading side it
 * keeps a fixed set of slots, each an RDMA READ work request built once as a DiSNI stateful verb call and
 * reused with new addresses and keys, so that a read costs no allocation and no JNI set-up; reads beyond
 * the slots wait in a queue and are posted as completions free slots.
 *
 * <p>The first failure — an error completion, an rdma_cm error or disconnect, a read timeout — breaks
 * the endpoint for good: the reads still waiting fail at once, and the tier closes the queue pair and
 * only then fails the reads in flight, so that no late DMA lands in a buffer that was handed back.
 */
final class VerbsEndpoint extends RdmaActiveEndpoint {
  /** One RDMA READ: remote and local memory, and who to tell when it is done (a null failure on success). */
  static final class Op {
    final long remoteAddress;
    final int rkey;
    final long localAddress;
    final int lkey;
    final int length;
    final Completion done;
    long postedNanos;

    Op(long remoteAddress, int rkey, long localAddress, int lkey, int length, Completion done) {
      this.remoteAddress = remoteAddress;
      this.rkey = rkey;
      this.localAddress = localAddress;
      this.lkey = lkey;
      this.length = length;
      this.done = done;
    }
  }

  /** Called once per {@link Op}. */
  interface Completion {
    void completed(TransportException failure);
  }

  private static final class Slot {
    final SVCPostSend post;
    final SVCPostSend.SendWRMod wr;
    final SVCPostSend.RdmaMod rdma;
    final SVCPostSend.SgeMod sge;
    Op op;

    Slot(SVCPostSend post) throws IOException {
      this.post = post;
      this.wr = post.getWrMod(0);
      this.rdma = wr.getRdmaMod();
      this.sge = wr.getSgeMod(0);
    }
  }

  private final VerbsTier tier;
  private final Object lock = new Object();
  private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
  private final ArrayDeque<Op> waiting = new ArrayDeque<>();
  private Slot[] slots = new Slot[0];
  private int window;
  private volatile TransportException broken;
  private volatile String cmFailure;

  VerbsEndpoint(RdmaActiveEndpointGroup<VerbsEndpoint> group, RdmaCmId id, boolean serverSide, VerbsTier tier)
      throws IOException {
    super(group, id, serverSide);
    this.tier = tier;
  }

  /** Sets how many reads this endpoint keeps in flight; call before connecting. */
  void window(int reads) {
    this.window = reads;
  }

  int window() {
    return window;
  }

  @Override
  protected synchronized void init() throws IOException {
    super.init();
    if (isServerSide() || window == 0) {
      return; // the serving side posts nothing: peers read its memory one-sidedly
    }
    Slot[] built = new Slot[window];
    for (int i = 0; i < window; i++) {
      IbvSge sge = new IbvSge();
      LinkedList<IbvSge> sges = new LinkedList<>();
      sges.add(sge);
      IbvSendWR wr = new IbvSendWR();
      wr.setWr_id(i);
      wr.setOpcode(IbvSendWR.IBV_WR_RDMA_READ);
      wr.setSend_flags(IbvSendWR.IBV_SEND_SIGNALED);
      wr.setSg_list(sges);
      List<IbvSendWR> list = new ArrayList<>();
      list.add(wr);
      built[i] = new Slot(postSend(list));
    }
    synchronized (lock) {
      slots = built;
      for (int i = 0; i < window; i++) {
        freeSlots.add(i);
      }
    }
  }

  /** Posts a read, or queues it until a slot is free; fails it at once when the endpoint is broken. */
  void post(Op op) {
    TransportException failure;
    synchronized (lock) {
      failure = broken;
      if (failure == null) {
        Integer slot = freeSlots.poll();
        if (slot == null) {
          waiting.add(op);
          return;
        }
        failure = fire(slot, op);
        if (failure == null) {
          return;
        }
      }
    }
    op.done.completed(failure);
    if (broken == null) {
      breakWith(failure);
    }
  }

  /** Posts {@code op} in {@code slot}; holds the lock. Returns the failure when the post is refused. */
  private TransportException fire(int slot, Op op) {
    Slot s = slots[slot];
    s.op = op;
    s.rdma.setRemote_addr(op.remoteAddress);
    s.rdma.setRkey(op.rkey);
    s.sge.setAddr(op.localAddress);
    s.sge.setLength(op.length);
    s.sge.setLkey(op.lkey);
    op.postedNanos = System.nanoTime();
    try {
      s.post.execute();
      return null;
    } catch (IOException e) {
      s.op = null;
      freeSlots.add(slot);
      return new TransportException("posting an RDMA READ failed (queue pair unusable): " + e.getMessage(), e);
    }
  }

  @Override
  public void dispatchCqEvent(IbvWC wc) {
    int slot = (int) wc.getWr_id();
    int status = wc.getStatus();
    Op op;
    Op next = null;
    TransportException nextFailure = null;
    synchronized (lock) {
      if (slot < 0 || slot >= slots.length || slots[slot].op == null) {
        return; // a completion for a read already failed by close
      }
      op = slots[slot].op;
      slots[slot].op = null;
      if (status == IbvWC.IbvWcStatus.IBV_WC_SUCCESS.ordinal() && broken == null) {
        next = waiting.poll();
        if (next != null) {
          nextFailure = fire(slot, next);
        } else {
          freeSlots.add(slot);
        }
      } else {
        freeSlots.add(slot);
      }
    }
    if (status == IbvWC.IbvWcStatus.IBV_WC_SUCCESS.ordinal()) {
      op.done.completed(null);
    } else {
      TransportException failure = failureOf(status, op);
      op.done.completed(failure);
      breakWith(failure);
    }
    if (nextFailure != null) {
      next.done.completed(nextFailure);
      breakWith(nextFailure);
    }
  }

  private TransportException failureOf(int status, Op op) {
    TransportException first = broken;
    String name = statusName(status);
    if (status == IbvWC.IbvWcStatus.IBV_WC_WR_FLUSH_ERR.ordinal() && first != null) {
      return new TransportException("RDMA READ flushed after an earlier failure on the queue pair: "
          + first.getMessage(), first);
    }
    if (status == IbvWC.IbvWcStatus.IBV_WC_REM_ACCESS_ERR.ordinal()
        || status == IbvWC.IbvWcStatus.IBV_WC_REM_INV_REQ_ERR.ordinal()) {
      return new RegionNotFoundException("peer refused the RDMA READ of " + op.length + " bytes at 0x"
          + Long.toHexString(op.remoteAddress) + " with rkey 0x" + Integer.toHexString(op.rkey) + " (" + name
          + "): the region is not registered there (freed, or a forged descriptor)");
    }
    if (status == IbvWC.IbvWcStatus.IBV_WC_RETRY_EXC_ERR.ordinal()
        || status == IbvWC.IbvWcStatus.IBV_WC_RNR_RETRY_EXC_ERR.ordinal()) {
      return new PeerUnavailableException("RDMA READ got no answer from the peer (" + name + "): it is gone");
    }
    return new TransportException("RDMA READ completed with error status " + name);
  }

  static String statusName(int status) {
    IbvWC.IbvWcStatus[] all = IbvWC.IbvWcStatus.values();
    return status >= 0 && status < all.length ? all[status].name() : "status " + status;
  }

  /**
   * Breaks the endpoint: waiting reads fail now, and the tier tears the queue pair down and then fails
   * the reads in flight. Only the first cause counts.
   */
  void breakWith(TransportException cause) {
    List<Op> failed;
    synchronized (lock) {
      if (broken != null) {
        return;
      }
      broken = cause;
      failed = new ArrayList<>(waiting);
      waiting.clear();
    }
    for (Op op : failed) {
      op.done.completed(cause);
    }
    tier.retire(this, cause);
  }

  /** Why the endpoint is broken, or null while it works. */
  TransportException broken() {
    return broken;
  }

  /** After the queue pair is gone: fails every read still in flight and frees the work requests. */
  void failInFlight(TransportException cause) {
    List<Op> failed = new ArrayList<>();
    synchronized (lock) {
      for (Slot s : slots) {
        if (s.op != null) {
          failed.add(s.op);
          s.op = null;
        }
        s.post.free();
      }
      slots = new Slot[0];
      freeSlots.clear();
      failed.addAll(waiting);
      waiting.clear();
    }
    for (Op op : failed) {
      op.done.completed(cause);
    }
  }

  /** When the oldest read in flight was posted, or {@link Long#MAX_VALUE} when none is. */
  long oldestPostedNanos() {
    long oldest = Long.MAX_VALUE;
    synchronized (lock) {
      for (Slot s : slots) {
        if (s.op != null) {
          oldest = Math.min(oldest, s.op.postedNanos);
        }
      }
    }
    return oldest;
  }

  /** The rdma_cm error that failed connecting, or null. */
  String cmFailure() {
    return cmFailure;
  }

  @Override
  public synchronized void dispatchCmEvent(RdmaCmEvent event) throws IOException {
    int type = event.getEvent();
    RdmaCmEvent.EventType[] types = RdmaCmEvent.EventType.values();
    String name = type >= 0 && type < types.length ? types[type].name() : "event " + type;
    boolean failure = type == RdmaCmEvent.EventType.RDMA_CM_EVENT_ADDR_ERROR.ordinal()
        || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_ROUTE_ERROR.ordinal()
        || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_CONNECT_ERROR.ordinal()
        || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_UNREACHABLE.ordinal()
        || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_REJECTED.ordinal()
        || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_DEVICE_REMOVAL.ordinal();
    if (failure) {
      // DiSNI's connect() waits for a state that an error event never brings; a disconnect ends the wait
      cmFailure = name;
      super.dispatchCmEvent(new RdmaCmEvent(RdmaCmEvent.EventType.RDMA_CM_EVENT_DISCONNECTED.ordinal(), null,
          getIdPriv()));
    } else {
      super.dispatchCmEvent(event);
    }
    if (failure || type == RdmaCmEvent.EventType.RDMA_CM_EVENT_DISCONNECTED.ordinal()) {
      // never close from here: DiSNI's close waits for events that this (the rdma_cm) thread delivers
      breakWith(new PeerUnavailableException("rdma_cm " + name + " on the verbs connection"));
    }
  }

  /** Wakes a connect() that waits for an event which will not come (the connect timeout). */
  synchronized void abandonConnect(String why) throws IOException {
    if (!isConnected() && cmFailure == null) {
      cmFailure = why;
      super.dispatchCmEvent(new RdmaCmEvent(RdmaCmEvent.EventType.RDMA_CM_EVENT_DISCONNECTED.ordinal(), null,
          getIdPriv()));
    }
  }
}
