package io.vrdma.hadoop;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.io.DataInputBuffer;
import org.apache.hadoop.io.DataOutputBuffer;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.io.WritableUtils;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.fusesource.leveldbjni.JniDBFactory;
import org.iq80.leveldb.DB;
import org.iq80.leveldb.DBException;
import org.iq80.leveldb.DBIterator;
import org.iq80.leveldb.Options;

/**
 * The running jobs' namespace secrets (their job tokens' shuffle secrets) and users, kept in a leveldb database
 * under the NodeManager's recovery path ({@code yarn.nodemanager.recovery.enabled}), as Hadoop's ShuffleHandler
 * keeps its job tokens — with the same library (leveldbjni, which the NodeManager ships), in a database of our
 * own next to Hadoop's ({@value #DB_NAME}). A restarted service reads them back: the jobs whose containers all
 * finished before the restart get no new {@code initializeApplication}, yet their reducers still fetch.
 *
 * <p>One entry per job, written when the job's first container starts on the node and deleted when the
 * application stops. Keys are application ids; a schema version entry guards the format.
 */
final class JobSecretStore implements AutoCloseable {
  /** The database's directory under the recovery path. */
  static final String DB_NAME = "vrdma_shuffle_state";
  private static final byte[] VERSION_KEY = "vrdma-shuffle-schema-version".getBytes(StandardCharsets.UTF_8);
  /** Bumped when the value format changes; a database of another version is refused at open. */
  private static final byte[] VERSION = "1".getBytes(StandardCharsets.UTF_8);
  private static final String APP_PREFIX = "application_";

  private final DB db;
  private final File location;

  /** What was stored of one job. */
  record StoredJob(String user, byte[] secret) {}

  private JobSecretStore(DB db, File location) {
    this.db = db;
    this.location = location;
  }

  /**
   * Opens (or creates) the store in {@code recoveryDir}.
   *
   * @throws IOException when the database cannot be opened or was written in another format
   */
  static JobSecretStore open(File recoveryDir) throws IOException {
    File location = new File(recoveryDir, DB_NAME);
    DB db;
    try {
      db = JniDBFactory.factory.open(location, new Options().createIfMissing(true));
    } catch (DBException | IOException e) {
      throw new IOException("cannot open the shuffle secret store " + location + ": " + e.getMessage(), e);
    }
    try {
      byte[] version = db.get(VERSION_KEY);
      if (version == null) {
        db.put(VERSION_KEY, VERSION);
      } else if (!java.util.Arrays.equals(version, VERSION)) {
        throw new IOException("shuffle secret store " + location + " has schema version "
            + new String(version, StandardCharsets.UTF_8) + ", this service reads version "
            + new String(VERSION, StandardCharsets.UTF_8));
      }
    } catch (DBException | IOException e) {
      db.close();
      throw e instanceof IOException io ? io : new IOException("cannot read " + location + ": " + e.getMessage(), e);
    }
    return new JobSecretStore(db, location);
  }

  /** Stores a job's user and secret, replacing what was stored for it. */
  void put(ApplicationId app, String user, byte[] secret) throws IOException {
    DataOutputBuffer out = new DataOutputBuffer();
    Text.writeString(out, user);
    WritableUtils.writeVInt(out, secret.length);
    out.write(secret);
    try {
      db.put(key(app), java.util.Arrays.copyOf(out.getData(), out.getLength()));
    } catch (DBException e) {
      throw new IOException("cannot store the shuffle secret of " + app + " in " + location + ": " + e.getMessage(), e);
    }
  }

  /** Forgets a job. */
  void remove(ApplicationId app) throws IOException {
    try {
      db.delete(key(app));
    } catch (DBException e) {
      throw new IOException("cannot remove " + app + " from " + location + ": " + e.getMessage(), e);
    }
  }

  /**
   * Every stored job. An entry that does not parse is given to {@code onBadEntry} (key, reason) and skipped: that
   * job's reducers then fetch this host over HTTP, as without recovery.
   */
  Map<ApplicationId, StoredJob> load(java.util.function.BiConsumer<String, String> onBadEntry) throws IOException {
    Map<ApplicationId, StoredJob> jobs = new LinkedHashMap<>();
    try (DBIterator it = db.iterator()) {
      it.seek(APP_PREFIX.getBytes(StandardCharsets.UTF_8));
      while (it.hasNext()) {
        Map.Entry<byte[], byte[]> e = it.next();
        String key = new String(e.getKey(), StandardCharsets.UTF_8);
        if (!key.startsWith(APP_PREFIX)) {
          break;
        }
        try {
          DataInputBuffer in = new DataInputBuffer();
          in.reset(e.getValue(), e.getValue().length);
          String user = Text.readString(in);
          int n = WritableUtils.readVInt(in);
          if (n <= 0 || n > in.getLength() - in.getPosition()) {
            throw new IOException("secret of " + n + " bytes in an entry of " + e.getValue().length);
          }
          byte[] secret = new byte[n];
          in.readFully(secret);
          jobs.put(ApplicationId.fromString(key), new StoredJob(user, secret));
        } catch (IOException | RuntimeException bad) {
          onBadEntry.accept(key, bad.toString());
        }
      }
    } catch (DBException e) {
      throw new IOException("cannot read " + location + ": " + e.getMessage(), e);
    }
    return jobs;
  }

  private static byte[] key(ApplicationId app) {
    return app.toString().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void close() throws IOException {
    db.close();
  }
}
