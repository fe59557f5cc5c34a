package io.vrdma.transport.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * The wire format of the control and tcp-data connection. Every frame is
 * {@code [int length][byte type][long id][payload]}, where {@code length} counts type, id and payload.
 * Requests carry an id chosen by the client; the answer carries the same id.
 */
public final class Frames {
  /** Bytes of type and id: the smallest valid length. */
  public static final int HEADER_AFTER_LENGTH = 1 + Long.BYTES;
  /** Bytes of a whole header, length field included. */
  public static final int HEADER_BYTES = Integer.BYTES + HEADER_AFTER_LENGTH;

  /** Client → server, first frame: the client's advertisement. */
  public static final byte HELLO = 1;
  /** Server → client: the server's advertisement. */
  public static final byte HELLO_ACK = 2;
  /** Client → server: a control message for the node's control handler. */
  public static final byte REQUEST = 3;
  /** Server → client: the control handler's answer. */
  public static final byte RESPONSE = 4;
  /** Server → client: a request or read failed; payload {@code [byte code][utf-8 message]}. */
  public static final byte ERROR = 5;
  /** Client → server: read {@code [long key][long offset][int length]} of a tcp registration. */
  public static final byte READ = 6;
  /** Server → client: the bytes of a read, exactly as many as asked. */
  public static final byte READ_DATA = 7;

  /**
   * Client → server: is this verbs descriptor (its serialized form) a live registration the client may
   * read? Answered by an empty RESPONSE or an ERROR; the client asks once per descriptor before its
   * first one-sided read, since an RDMA READ with a bad key may just go unanswered on some devices.
   */
  public static final byte VERBS_CHECK = 8;

  /** Bytes of a READ payload. */
  public static final int READ_PAYLOAD_BYTES = Long.BYTES + Long.BYTES + Integer.BYTES;

  /** ERROR code: the region is not registered. */
  public static final byte ERROR_NOT_FOUND = 1;
  /** ERROR code: the request is outside the region or malformed. */
  public static final byte ERROR_INVALID = 2;
  /** ERROR code: the server failed to serve it (handler exception, I/O error). */
  public static final byte ERROR_FAILED = 3;

  private Frames() {}

  /** A header for a frame of {@code payloadBytes} bytes of payload, ready to be followed by it. */
  public static ByteBuf header(ByteBufAllocator alloc, byte type, long id, long payloadBytes, int extra) {
    long length = HEADER_AFTER_LENGTH + payloadBytes;
    if (length > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("frame payload of " + payloadBytes + " bytes is too large");
    }
    ByteBuf buf = alloc.ioBuffer(HEADER_BYTES + extra);
    buf.writeInt((int) length).writeByte(type).writeLong(id);
    return buf;
  }

  /** An ERROR frame answering request {@code id}. */
  public static ByteBuf error(ByteBufAllocator alloc, long id, byte code, String message) {
    byte[] text = message.getBytes(StandardCharsets.UTF_8);
    ByteBuf buf = header(alloc, ERROR, id, 1 + text.length, 1 + text.length);
    return buf.writeByte(code).writeBytes(text);
  }

  /** A printable name for a frame type, for log lines. */
  public static String typeName(int type) {
    return switch (type) {
      case HELLO -> "HELLO";
      case HELLO_ACK -> "HELLO_ACK";
      case REQUEST -> "REQUEST";
      case RESPONSE -> "RESPONSE";
      case ERROR -> "ERROR";
      case READ -> "READ";
      case READ_DATA -> "READ_DATA";
      case VERBS_CHECK -> "VERBS_CHECK";
      default -> "unknown type " + type;
    };
  }
}
