package io.vrdma.hadoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.MRConfig;
import org.apache.hadoop.mapreduce.MRJobConfig;
import org.apache.hadoop.mapreduce.TaskCounter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plugin under the LocalJobRunner: map outputs come as local files, without completion events. */
class LocalJobRunnerShuffleTest {
  @TempDir
  Path dir;

  @Test
  void wordCountWithCombinerAndThreeReducersIsExact() throws Exception {
    Configuration conf = new Configuration();
    conf.set(MRConfig.FRAMEWORK_NAME, MRConfig.LOCAL_FRAMEWORK_NAME);
    conf.set("fs.defaultFS", "file:///");
    conf.set(MRConfig.LOCAL_DIR, dir.resolve("local").toString());
    conf.setInt("mapreduce.local.map.tasks.maximum", 2);
    conf.setInt("mapreduce.local.reduce.tasks.maximum", 2);
    conf.set(MRConfig.SHUFFLE_CONSUMER_PLUGIN, VrdmaShuffle.class.getName());
    // a small merge memory, so that some map outputs go to disk and merges run
    conf.setFloat(MRJobConfig.SHUFFLE_INPUT_BUFFER_PERCENT, 0.05f);
    FileSystem fs = FileSystem.getLocal(conf);
    org.apache.hadoop.fs.Path in = new org.apache.hadoop.fs.Path(dir.resolve("in").toUri());
    org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(dir.resolve("out").toUri());
    int files = 4;
    Map<String, Long> expected = Jobs.writeWords(fs, in, files, 5000, 42);

    Job job = Jobs.wordCount(conf, in, out, 3);
    assertTrue(job.waitForCompletion(false), "job failed");

    assertEquals(expected, Jobs.readOutput(fs, out));
    // every reducer read every map's partition through the plugin
    assertEquals(files * 3L, job.getCounters().findCounter(VrdmaShuffleCounter.VRDMA_LOCAL_MAPS).getValue());
    assertEquals(files * 3L, job.getCounters().findCounter(TaskCounter.SHUFFLED_MAPS).getValue());
    // the combiner ran on the map side, as with the stock shuffle
    assertTrue(job.getCounters().findCounter(TaskCounter.COMBINE_INPUT_RECORDS).getValue() > 0);
  }
}
