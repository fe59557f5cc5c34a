package io.vrdma.hadoop;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalDirAllocator;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.mapred.IndexRecord;
import org.apache.hadoop.mapred.JobConf;
import org.apache.hadoop.mapred.Reporter;
import org.apache.hadoop.mapred.SpillRecord;
import org.apache.hadoop.mapreduce.MRConfig;
import org.apache.hadoop.mapreduce.TaskAttemptID;
import org.apache.hadoop.mapreduce.task.reduce.MapHost;
import org.apache.hadoop.mapreduce.task.reduce.MapOutput;
import org.apache.hadoop.mapreduce.task.reduce.ShuffleClientMetrics;
import org.apache.hadoop.mapreduce.task.reduce.ShuffleSchedulerImpl;

/**
 * Map outputs read straight from files on the reducer's own machine: under the LocalJobRunner (which hands the
 * files over), and on a NodeManager whose map outputs lie in the local dirs this reducer's job shares with them.
 */
final class LocalMapOutputs {
  /**
   * Hadoop's names (YarnOutputFiles) of a map's output in a job's local dir: {@code output/<map attempt>/file.out}
   * and its index beside the name; the service looks for them by these names too.
   */
  static final String OUTPUT_DIR = "output";
  static final String MAP_OUTPUT = "file.out";
  static final String MAP_OUTPUT_INDEX = MAP_OUTPUT + ".index";
  /** Most bytes one read of a map output file asks for (see {@link ChunkedReads}). */
  private static final int READ_BYTES = 64 * 1024;

  private final JobConf job;
  private final FileSystem raw;
  private final LocalDirAllocator localDirs = new LocalDirAllocator(MRConfig.LOCAL_DIR);

  LocalMapOutputs(JobConf job) throws IOException {
    this.job = job;
    this.raw = FileSystem.getLocal(job).getRaw();
  }

  /**
   * The data file of a map attempt of this job on this machine, found as Hadoop's ShuffleHandler finds it: in
   * any of the job's local dirs ({@code mapreduce.cluster.local.dir}, which YARN sets to the job's directories
   * under each NodeManager local dir).
   *
   * @throws IOException when no local dir holds it (the map ran elsewhere)
   */
  Path dataFile(TaskAttemptID map) throws IOException {
    return localDirs.getLocalPathToRead(OUTPUT_DIR + Path.SEPARATOR + map + Path.SEPARATOR + MAP_OUTPUT, job);
  }

  /** The index file of a map attempt of this job on this machine, in whichever local dir holds it. */
  Path indexFile(TaskAttemptID map) throws IOException {
    return localDirs.getLocalPathToRead(OUTPUT_DIR + Path.SEPARATOR + map + Path.SEPARATOR + MAP_OUTPUT_INDEX, job);
  }

  /** A partition's index record, read from the map's index file (whose own checksum is verified). */
  IndexRecord record(Path index, int partition) throws IOException {
    return new SpillRecord(index, job).getIndex(partition);
  }

  /**
   * Reads a partition from the map's data file into the output reserved for it — Hadoop's IFile checksum is
   * verified on the way, as for a fetched map output — and commits it with the scheduler; the output is aborted
   * if either fails. Counts it in {@link VrdmaShuffleCounter#VRDMA_LOCAL_MAPS} and {@code _BYTES}.
   */
  <K, V> void copy(TaskAttemptID map, Path data, IndexRecord record, MapOutput<K, V> output, MapHost host,
      ShuffleSchedulerImpl<K, V> scheduler, ShuffleClientMetrics metrics, Reporter reporter) throws IOException {
    long start = System.currentTimeMillis();
    boolean done = false;
    try (FSDataInputStream in = raw.open(data)) {
      in.seek(record.startOffset);
      output.shuffle(host, new ChunkedReads(in), record.partLength, record.rawLength, metrics, reporter);
      scheduler.copySucceeded(map, host, record.partLength, start, System.currentTimeMillis(), output);
      done = true;
    } finally {
      if (!done) {
        output.abort();
      }
    }
    reporter.incrCounter(VrdmaShuffleCounter.VRDMA_LOCAL_MAPS, 1);
    reporter.incrCounter(VrdmaShuffleCounter.VRDMA_LOCAL_BYTES, record.partLength);
  }

  /**
   * Splits large reads. The merge manager reads an in-memory map output in one call for its whole length, and
   * the JDK serves a file read longer than 8 KiB through a native buffer of that length, allocated for the call:
   * tens of MiB allocated, touched page by page and freed per map output. In pieces of {@link #READ_BYTES} the
   * native buffer stays small and is reused.
   */
  private static final class ChunkedReads extends FilterInputStream {
    ChunkedReads(InputStream in) {
      super(in);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return in.read(b, off, Math.min(len, READ_BYTES));
    }
  }
}
