package io.vrdma.transport.tcp;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The files the tcp tier serves reads from, kept open between reads: a map output is read by every reducer, run
 * after run, and an open per read cost more than the read of a small run. Bounded: at most {@link #CAPACITY}
 * files stay open, the least recently read closes first (once no send is using it), and a file whose last
 * registration goes is closed at once (its shuffle was dropped; an open channel would keep its disk space).
 * Channels are shared by concurrent sends: every read of them is positional.
 */
final class OpenFiles {
  /** Files kept open at most: well below common open-file limits (1024 and up), ample for a node's map outputs. */
  static final int CAPACITY = 256;

  private final Map<Path, Entry> open = new LinkedHashMap<>(64, 0.75f, true);

  /** An open file, counted while sends use it. */
  final class Entry {
    final Path path;
    final FileChannel channel;
    private int users;
    private boolean retired;

    private Entry(Path path, FileChannel channel) {
      this.path = path;
      this.channel = channel;
    }

    /** The send that used the channel is done with it. */
    void release() {
      synchronized (OpenFiles.this) {
        users--;
        closeIfDone(this);
      }
    }
  }

  /** The file's shared channel, opened if needed; {@link Entry#release()} it when the send is done. */
  synchronized Entry acquire(Path path) throws IOException {
    Entry e = open.get(path);
    if (e == null) {
      e = new Entry(path, FileChannel.open(path, StandardOpenOption.READ));
      open.put(path, e);
      if (open.size() > CAPACITY) {
        var eldest = open.entrySet().iterator().next().getValue();
        open.remove(eldest.path);
        eldest.retired = true;
        closeIfDone(eldest);
      }
    }
    e.users++;
    return e;
  }

  /** Closes the file (once its sends are done): it is no longer served. */
  synchronized void forget(Path path) {
    Entry e = open.remove(path);
    if (e != null) {
      e.retired = true;
      closeIfDone(e);
    }
  }

  synchronized int size() {
    return open.size();
  }

  private static void closeIfDone(Entry e) {
    if (e.retired && e.users == 0) {
      try {
        e.channel.close();
      } catch (IOException ignored) {
        // nothing is read from it any more
      }
    }
  }
}
