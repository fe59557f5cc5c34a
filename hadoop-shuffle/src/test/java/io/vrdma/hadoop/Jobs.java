package io.vrdma.hadoop;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.IntWritable;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.Mapper;
import org.apache.hadoop.mapreduce.lib.input.FileInputFormat;
import org.apache.hadoop.mapreduce.lib.output.FileOutputFormat;
import org.apache.hadoop.mapreduce.lib.reduce.IntSumReducer;
import org.apache.hadoop.mapreduce.lib.reduce.LongSumReducer;

/** Small MapReduce jobs for the tests: a word count with a combiner, and a sort of random records. */
final class Jobs {
  private Jobs() {}

  /** Writes {@code files} text files of random words; returns the expected count of each word. */
  static Map<String, Long> writeWords(FileSystem fs, Path dir, int files, int linesPerFile, long seed)
      throws IOException {
    Random random = new Random(seed);
    Map<String, Long> expected = new TreeMap<>();
    for (int f = 0; f < files; f++) {
      try (Writer w = new java.io.OutputStreamWriter(fs.create(new Path(dir, "part-" + f + ".txt")),
          StandardCharsets.UTF_8)) {
        for (int l = 0; l < linesPerFile; l++) {
          StringBuilder line = new StringBuilder();
          for (int i = 0; i < 8; i++) {
            // a skewed vocabulary, so that the combiner has work to do
            String word = "w" + (int) Math.abs(random.nextGaussian() * 300);
            expected.merge(word, 1L, Long::sum);
            line.append(word).append(' ');
          }
          w.write(line.append('\n').toString());
        }
      }
    }
    return expected;
  }

  /** Writes random records "key\tvalue" (keys with repeats); returns them sorted as the job must output them. */
  static Map<String, Long> writeRecords(FileSystem fs, Path dir, int files, int recordsPerFile, long seed)
      throws IOException {
    Random random = new Random(seed);
    Map<String, Long> expected = new TreeMap<>();
    for (int f = 0; f < files; f++) {
      try (Writer w = new java.io.OutputStreamWriter(fs.create(new Path(dir, "rec-" + f + ".txt")),
          StandardCharsets.UTF_8)) {
        for (int r = 0; r < recordsPerFile; r++) {
          String key = String.format("%08x", random.nextInt(1 << 20));
          long value = random.nextInt(1000);
          expected.merge(key, value, Long::sum);
          w.write(key + "\t" + value + "\n");
        }
      }
    }
    return expected;
  }

  public static final class WordMapper extends Mapper<LongWritable, Text, Text, IntWritable> {
    private static final IntWritable ONE = new IntWritable(1);
    private final Text word = new Text();

    @Override
    protected void map(LongWritable key, Text value, Context context) throws IOException, InterruptedException {
      for (String w : value.toString().split(" ")) {
        if (!w.isEmpty()) {
          word.set(w);
          context.write(word, ONE);
        }
      }
    }
  }

  public static final class RecordMapper extends Mapper<LongWritable, Text, Text, LongWritable> {
    private final Text key = new Text();
    private final LongWritable value = new LongWritable();

    @Override
    protected void map(LongWritable offset, Text line, Context context) throws IOException, InterruptedException {
      String[] kv = line.toString().split("\t");
      key.set(kv[0]);
      value.set(Long.parseLong(kv[1]));
      context.write(key, value);
    }
  }

  static Job wordCount(Configuration conf, Path in, Path out, int reduces) throws IOException {
    Job job = Job.getInstance(conf, "vrdma-wordcount");
    job.setJarByClass(Jobs.class);
    job.setMapperClass(WordMapper.class);
    job.setCombinerClass(IntSumReducer.class);
    job.setReducerClass(IntSumReducer.class);
    job.setOutputKeyClass(Text.class);
    job.setOutputValueClass(IntWritable.class);
    job.setNumReduceTasks(reduces);
    FileInputFormat.addInputPath(job, in);
    FileOutputFormat.setOutputPath(job, out);
    return job;
  }

  static Job sortRecords(Configuration conf, Path in, Path out, int reduces) throws IOException {
    Job job = Job.getInstance(conf, "vrdma-sort");
    job.setJarByClass(Jobs.class);
    job.setMapperClass(RecordMapper.class);
    // Hadoop's own summing reducer, no combiner: every record crosses the shuffle
    job.setReducerClass(LongSumReducer.class);
    job.setOutputKeyClass(Text.class);
    job.setOutputValueClass(LongWritable.class);
    job.setNumReduceTasks(reduces);
    FileInputFormat.addInputPath(job, in);
    FileOutputFormat.setOutputPath(job, out);
    return job;
  }

  /**
   * Reads a job's output: every "key\tvalue" line of every part file. Also checks that each part file is
   * sorted by key, as the merge must leave it.
   */
  static Map<String, Long> readOutput(FileSystem fs, Path out) throws IOException {
    Map<String, Long> result = new TreeMap<>();
    for (FileStatus part : fs.listStatus(out, p -> p.getName().startsWith("part-"))) {
      String previous = null;
      try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(part.getPath()), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          String[] kv = line.split("\t");
          if (previous != null && new Text(previous).compareTo(new Text(kv[0])) >= 0) {
            throw new AssertionError(part.getPath() + " is not sorted: " + previous + " before " + kv[0]);
          }
          previous = kv[0];
          if (result.put(kv[0], Long.parseLong(kv[1])) != null) {
            throw new AssertionError("key " + kv[0] + " in more than one reducer's output");
          }
        }
      }
    }
    return result;
  }
}
