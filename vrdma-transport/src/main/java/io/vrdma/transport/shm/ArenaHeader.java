package io.vrdma.transport.shm;

import static io.vrdma.transport.shm.ArenaLayout.H_CHUNK_BYTES;
import static io.vrdma.transport.shm.ArenaLayout.H_CHUNK_COUNT;
import static io.vrdma.transport.shm.ArenaLayout.H_CHUNK_TABLE;
import static io.vrdma.transport.shm.ArenaLayout.H_DATA;
import static io.vrdma.transport.shm.ArenaLayout.H_ID_LSB;
import static io.vrdma.transport.shm.ArenaLayout.H_ID_MSB;
import static io.vrdma.transport.shm.ArenaLayout.H_MAGIC;
import static io.vrdma.transport.shm.ArenaLayout.H_PROCESS_TABLE;
import static io.vrdma.transport.shm.ArenaLayout.H_SIZE;
import static io.vrdma.transport.shm.ArenaLayout.H_SLOTS;
import static io.vrdma.transport.shm.ArenaLayout.H_STATE;
import static io.vrdma.transport.shm.ArenaLayout.H_VERSION;
import static io.vrdma.transport.shm.ArenaLayout.LAYOUT_VERSION;
import static io.vrdma.transport.shm.ArenaLayout.MAGIC;
import static io.vrdma.transport.shm.ArenaLayout.STATE_INITIALISING;
import static io.vrdma.transport.shm.ArenaLayout.STATE_NONE;
import static io.vrdma.transport.shm.ArenaLayout.STATE_READY;

import io.vrdma.transport.TransportException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The header's initialisation protocol. Whoever moves the init state from 0 to 1 lays out the header and
 * then publishes state 2; everyone else waits for state 2. An initialised arena's chunk size and slot count
 * win over the caller's. There is no lock: a process that dies while initialising leaves state 1 behind,
 * which later processes report rather than repair, since they cannot tell it from a slow initialiser.
 */
final class ArenaHeader {
  // The arena's logger, so that operators' log settings for the arena cover every part of it.
  private static final Logger LOG = LoggerFactory.getLogger(SharedArena.class);

  private ArenaHeader() {}

  /**
   * Makes sure the header is initialised (by this process or another) and of this layout version.
   *
   * @param header a mapping of at least the header's bytes
   * @param fileSize bytes of the file, which a new arena is laid out to fill
   * @return the layout the header describes
   */
  static ArenaLayout initialise(Path path, ByteBuffer header, long fileSize, int chunkBytes, int maxProcesses,
      long deadline) throws TransportException {
    checkMagicAndVersion(path, header);
    if (ArenaWords.get(header, H_STATE) == STATE_NONE) {
      ArenaLayout layout = ArenaLayout.compute(path, fileSize, chunkBytes, maxProcesses);
      if (ArenaWords.compareAndSet(header, H_STATE, STATE_NONE, STATE_INITIALISING)) {
        UUID id = UUID.randomUUID();
        ArenaWords.put(header, H_VERSION, LAYOUT_VERSION);
        ArenaWords.put(header, H_SIZE, fileSize);
        ArenaWords.put(header, H_CHUNK_BYTES, chunkBytes);
        ArenaWords.put(header, H_CHUNK_COUNT, layout.chunkCount);
        ArenaWords.put(header, H_SLOTS, maxProcesses);
        ArenaWords.put(header, H_ID_MSB, id.getMostSignificantBits());
        ArenaWords.put(header, H_ID_LSB, id.getLeastSignificantBits());
        ArenaWords.put(header, H_PROCESS_TABLE, layout.processTable);
        ArenaWords.put(header, H_CHUNK_TABLE, layout.chunkTable);
        ArenaWords.put(header, H_DATA, layout.dataOffset);
        // Magic after the fields and state last: a process that sees either sees the whole header.
        ArenaWords.put(header, H_MAGIC, MAGIC);
        ArenaWords.put(header, H_STATE, STATE_READY);
        LOG.info("initialised shm arena {} ({}): {} chunks of {} bytes, {} process slots", path, id,
            layout.chunkCount, chunkBytes, maxProcesses);
        long unused = fileSize - layout.dataOffset - layout.dataBytes();
        // Rounding always leaves a little unused; only a count held down by the table's bound is worth a warning.
        if (layout.chunkCount == ArenaLayout.maxChunkCount(chunkBytes, maxProcesses) && unused >= chunkBytes) {
          LOG.warn("shm arena {}: the last {} MiB of the file stay unused: its chunk table addresses at most {}"
              + " chunks of {} bytes (use larger chunks to use them)", path, unused >> 20,
              ArenaLayout.maxChunkCount(chunkBytes, maxProcesses), chunkBytes);
        }
      }
    }
    long state = ArenaWords.get(header, H_STATE);
    while (state != STATE_READY) {
      if (state != STATE_NONE && state != STATE_INITIALISING) {
        throw new TransportException("shm arena " + path + " has init state " + state
            + ", not 0, 1 or 2: it is not a vRDMA arena or it is corrupt");
      }
      if (System.nanoTime() >= deadline) {
        throw new TransportException("arena " + path + " stuck initialising: a process died while laying it"
            + " out; delete or zero the file when no process uses it");
      }
      ArenaFile.sleepBriefly(path);
      state = ArenaWords.get(header, H_STATE);
    }
    checkMagicAndVersion(path, header);
    if (ArenaWords.get(header, H_MAGIC) != MAGIC) {
      throw new TransportException("shm arena " + path + " is marked ready but has no magic: it is corrupt");
    }
    return ArenaLayout.read(path, header, fileSize);
  }

  /** The arena's id, written by whoever initialised it. */
  static UUID arenaId(ByteBuffer header) {
    return new UUID(ArenaWords.get(header, H_ID_MSB), ArenaWords.get(header, H_ID_LSB));
  }

  private static void checkMagicAndVersion(Path path, ByteBuffer header) throws TransportException {
    long magic = ArenaWords.get(header, H_MAGIC);
    if (magic == 0) {
      return;
    }
    if (magic != MAGIC) {
      throw new TransportException("shm arena " + path + " is not a vRDMA arena: magic 0x"
          + Long.toHexString(magic) + ", expected 0x" + Long.toHexString(MAGIC) + " (\"VRDMASHM\")");
    }
    long version = ArenaWords.get(header, H_VERSION);
    if (version != LAYOUT_VERSION) {
      throw new TransportException("shm arena " + path + " has layout version " + version + ", expected "
          + LAYOUT_VERSION + ": processes of different transport versions cannot share one arena");
    }
  }
}
