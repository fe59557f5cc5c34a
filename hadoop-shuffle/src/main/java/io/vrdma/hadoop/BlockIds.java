package io.vrdma.hadoop;

import org.apache.hadoop.mapreduce.JobID;
import org.apache.hadoop.mapreduce.TaskAttemptID;
import org.apache.hadoop.yarn.api.records.ApplicationId;

/**
 * Names shared by the auxiliary service and the reduce-side plugin: one namespace per job, and per map
 * attempt and reduce partition two blocks, the partition's bytes in {@code file.out} and its 24-byte index
 * record in {@code file.out.index} (start offset, raw length, part length) that the reducer needs to
 * reserve memory before it reads the bytes.
 */
public final class BlockIds {
  /** Bytes of one index record: three longs. */
  public static final int INDEX_RECORD_BYTES = 24;

  private BlockIds() {}

  public static String namespace(JobID job) {
    return job.toString();
  }

  public static String namespace(ApplicationId app) {
    return namespace(new JobID(Long.toString(app.getClusterTimestamp()), app.getId()));
  }

  public static String data(TaskAttemptID map, int partition) {
    return data(map.toString(), partition);
  }

  public static String data(String mapAttempt, int partition) {
    return mapAttempt + "/" + partition;
  }

  public static String index(TaskAttemptID map, int partition) {
    return index(map.toString(), partition);
  }

  public static String index(String mapAttempt, int partition) {
    return mapAttempt + "/" + partition + "/index";
  }
}
