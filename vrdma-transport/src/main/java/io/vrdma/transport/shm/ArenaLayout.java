package io.vrdma.transport.shm;

import io.vrdma.transport.TransportException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The arena file's layout: the offsets of every field (the constants, which are the on-disk format shared
 * by all processes and VMs that map one arena) and the geometry of one arena read from its header (the
 * instance). Nothing here touches shared memory except {@link #read}, which only loads words.
 *
 * <p>All words are little-endian longs, so that every process (and a hex dump) reads the same values.
 *
 * <pre>
 * header, 4096 bytes
 *   0  magic            "VRDMASHM" (the ASCII bytes, read as a little-endian long)
 *   8  init state       0 none, 1 initialising, 2 ready
 *  16  layout version   1
 *  24  total size       bytes of the file when it was initialised
 *  32  chunk size       allocation unit, a power of two
 *  40  chunk count
 *  48  process slots    entries in the process table
 *  56  arena id         UUID, most significant long
 *  64                   UUID, least significant long
 *  72  process table offset (4096)
 *  80  chunk table offset
 *  88  data area offset (a multiple of the chunk size)
 * process table, process slots x 64 bytes
 *   +0 token            the attachment's random owner token, 0 = slot free
 *   +8 heartbeat        System.currentTimeMillis() of its last heartbeat
 *  +16 pid
 *  +24 attach time      System.currentTimeMillis() when it attached
 * chunk table, chunk count x 16 bytes
 *   +0 owner token      0 = chunk free
 *   +8 region key       0 = not published
 * data area, chunk count x chunk size (a file larger than the tables can address keeps an unused tail)
 * </pre>
 *
 * <p>Header and tables (everything before the data area) must fit one mapping of at most 2 GiB - 1 bytes,
 * because atomic word access indexes one {@link ByteBuffer} with an {@code int}; that bounds the chunk count
 * ({@link #maxChunkCount}), not the file: with 64 KiB chunks an arena may hold about 8 TiB. The data area
 * is mapped in windows (see {@link ArenaMapping}); the windows are a per-process view, not part of the file.
 */
final class ArenaLayout {
  /** "VRDMASHM" in ASCII, so that the file's first bytes name what it is. */
  static final long MAGIC = ByteBuffer.wrap("VRDMASHM".getBytes(StandardCharsets.US_ASCII))
      .order(ByteOrder.LITTLE_ENDIAN).getLong();
  static final long LAYOUT_VERSION = 1;
  static final int HEADER_BYTES = 4096;
  static final int SLOT_BYTES = 64;
  static final int CHUNK_ENTRY_BYTES = 16;

  static final int H_MAGIC = 0;
  static final int H_STATE = 8;
  static final int H_VERSION = 16;
  static final int H_SIZE = 24;
  static final int H_CHUNK_BYTES = 32;
  static final int H_CHUNK_COUNT = 40;
  static final int H_SLOTS = 48;
  static final int H_ID_MSB = 56;
  static final int H_ID_LSB = 64;
  static final int H_PROCESS_TABLE = 72;
  static final int H_CHUNK_TABLE = 80;
  static final int H_DATA = 88;

  static final int S_TOKEN = 0;
  static final int S_HEARTBEAT = 8;
  static final int S_PID = 16;
  static final int S_ATTACHED = 24;

  static final int C_OWNER = 0;
  static final int C_KEY = 8;

  static final long STATE_NONE = 0;
  static final long STATE_INITIALISING = 1;
  static final long STATE_READY = 2;

  static final int MIN_CHUNK_BYTES = 4096;
  static final int MAX_CHUNK_BYTES = 1 << 30;

  /** Bytes of the file when it was initialised. */
  final long sizeBytes;
  final int chunkBytes;
  final int chunkCount;
  final int slotCount;
  final int processTable;
  final int chunkTable;
  /** Where the data area starts; also the length of the header-and-tables mapping. */
  final int dataOffset;

  ArenaLayout(long sizeBytes, int chunkBytes, int chunkCount, int slotCount, int processTable, int chunkTable,
      int dataOffset) {
    this.sizeBytes = sizeBytes;
    this.chunkBytes = chunkBytes;
    this.chunkCount = chunkCount;
    this.slotCount = slotCount;
    this.processTable = processTable;
    this.chunkTable = chunkTable;
    this.dataOffset = dataOffset;
  }

  /** Bytes of the data area: every chunk. */
  long dataBytes() {
    return (long) chunkCount * chunkBytes;
  }

  /** File offset of a chunk's first byte. */
  long chunkAddress(int chunk) {
    return dataOffset + (long) chunk * chunkBytes;
  }

  int ownerWord(int chunk) {
    return chunkTable + chunk * CHUNK_ENTRY_BYTES + C_OWNER;
  }

  int keyWord(int chunk) {
    return chunkTable + chunk * CHUNK_ENTRY_BYTES + C_KEY;
  }

  int slotWord(int slot, int field) {
    return processTable + slot * SLOT_BYTES + field;
  }

  /**
   * Most chunks an arena with {@code slots} process slots can address: header and tables, rounded up to a
   * chunk, must end within one {@code int}-indexed mapping.
   */
  static long maxChunkCount(long chunkBytes, long slots) {
    long metadataLimit = Integer.MAX_VALUE / chunkBytes * chunkBytes;
    long chunkTable = HEADER_BYTES + slots * SLOT_BYTES;
    return Math.max(0, Math.min(Integer.MAX_VALUE, (metadataLimit - chunkTable) / CHUNK_ENTRY_BYTES));
  }

  /** Largest file whose every chunk the tables can address; a larger file would keep an unused tail. */
  static long maxArenaBytes(long chunkBytes, long slots) {
    long count = maxChunkCount(chunkBytes, slots);
    return alignUp(HEADER_BYTES + slots * SLOT_BYTES + count * CHUNK_ENTRY_BYTES, chunkBytes)
        + count * chunkBytes;
  }

  /** Where the tables and data go in a file of {@code size} bytes; how a new arena is laid out. */
  static ArenaLayout compute(Path path, long size, int chunkBytes, int slots) throws TransportException {
    long processTable = HEADER_BYTES;
    long chunkTable = processTable + (long) slots * SLOT_BYTES;
    long count = Math.max(0, (size - chunkTable) / (chunkBytes + CHUNK_ENTRY_BYTES));
    count = Math.min(count, maxChunkCount(chunkBytes, slots));
    // The data area's alignment wastes up to one chunk; give chunks back until everything fits.
    while (count > 0 && alignUp(chunkTable + count * CHUNK_ENTRY_BYTES, chunkBytes) + count * chunkBytes > size) {
      count--;
    }
    if (count < 1) {
      throw new TransportException("shm arena " + path + " of " + size + " bytes is too small for its header, "
          + slots + " process slots and one chunk of " + chunkBytes + " bytes");
    }
    return new ArenaLayout(size, chunkBytes, (int) count, slots, (int) processTable, (int) chunkTable,
        (int) alignUp(chunkTable + count * CHUNK_ENTRY_BYTES, chunkBytes));
  }

  /**
   * Reads the layout from an initialised header, refusing one whose fields do not describe a layout that
   * fits a file of {@code fileSize} bytes.
   */
  static ArenaLayout read(Path path, ByteBuffer header, long fileSize) throws TransportException {
    long size = ArenaWords.get(header, H_SIZE);
    long chunk = ArenaWords.get(header, H_CHUNK_BYTES);
    long count = ArenaWords.get(header, H_CHUNK_COUNT);
    long slots = ArenaWords.get(header, H_SLOTS);
    long processTable = ArenaWords.get(header, H_PROCESS_TABLE);
    long chunkTable = ArenaWords.get(header, H_CHUNK_TABLE);
    long data = ArenaWords.get(header, H_DATA);
    // Bounds first, so that the products below cannot overflow on a corrupt header.
    boolean ok = size == fileSize
        && chunk >= 8 && chunk <= MAX_CHUNK_BYTES && Long.bitCount(chunk) == 1
        && slots >= 1 && slots <= Integer.MAX_VALUE && count >= 1 && count <= Integer.MAX_VALUE
        && processTable == HEADER_BYTES
        && chunkTable == processTable + slots * SLOT_BYTES
        && data >= chunkTable + count * CHUNK_ENTRY_BYTES && data % chunk == 0 && data <= Integer.MAX_VALUE
        && data + count * chunk <= size;
    if (!ok) {
      throw new TransportException("shm arena " + path + " has an inconsistent header (size " + size + " of "
          + fileSize + " mapped, chunk " + chunk + " x " + count + ", " + slots + " slots, tables at "
          + processTable + "/" + chunkTable + ", data at " + data + "): it is corrupt");
    }
    return new ArenaLayout(size, (int) chunk, (int) count, (int) slots, (int) processTable, (int) chunkTable,
        (int) data);
  }

  static long alignUp(long value, long alignment) {
    return (value + alignment - 1) / alignment * alignment;
  }
}
