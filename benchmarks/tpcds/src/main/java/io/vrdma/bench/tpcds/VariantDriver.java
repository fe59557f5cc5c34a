package io.vrdma.bench.tpcds;

import io.vrdma.bench.spark.SparkVariants;
import io.vrdma.spark.VrdmaDriverEndpoint;
import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The driver JVM of one shuffle variant: one Spark application on {@code local-cluster[2,1,<mb>]} that lives for
 * the whole benchmark (a JVM holds one SparkContext, and the shuffle manager is fixed when it starts), so the
 * coordinator ({@link TpcdsBenchmark}) keeps one of these per variant and interleaves queries across them.
 *
 * <p>Protocol on standard input and output, one line each (everything else the JVM prints goes to standard error,
 * which the coordinator sends to a log file): after start-up it prints {@code READY}; {@code RUN <query>} answers
 * {@code OK <query> <seconds> <rows> <hash> <shuffle read B> <remote read B> <shuffle written B> <shm B> <tcp B>
 * <verbs B>}, {@code UNSUPPORTED <query> <why>} when the query does not analyse against the data, or
 * {@code FAIL <query> <why>}; {@code QUIT} stops the application and exits.
 *
 * <p>Arguments: {@code <variant> <data dir> <executor MB> <shuffle partitions> <arena size> <table,table,...>}.
 */
public final class VariantDriver {
  private VariantDriver() {}

  /** Starts the application, answers commands until QUIT or end of input. */
  public static void main(String[] args) throws Exception {
    // the protocol owns the real standard output; stray prints (Spark's, ours) go to standard error
    PrintStream protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    System.setOut(System.err);
    if (args.length != 6 && args.length != 7) {
      protocol.println("FAIL - usage: VariantDriver <variant> <data dir> <executor MB> <shuffle partitions>"
          + " <arena size> <tables> [spark settings k=v|k=v... (separate-hosts cluster)]");
      System.exit(2);
    }
    String variant = args[0];
    Path data = Path.of(args[1]);
    int executorMb = Integer.parseInt(args[2]);
    int shufflePartitions = Integer.parseInt(args[3]);
    String arenaBytes = args[4];
    List<String> tables = Arrays.asList(args[5].split(","));

    boolean hosts = args.length == 7;
    if (!hosts) {
      SparkVariants.prepareSparkHome();
    }
    // on the separate-hosts cluster the arena is the workers' hosts' own (their /dev/shm), not this JVM's
    Path arena = hosts ? Path.of("/dev/shm/vrdma-arena") : Path.of("/dev/shm", "vrdma-tpcds-" + UUID.randomUUID());
    SparkConf conf = new SparkConf()
        .setMaster("local-cluster[2,1," + executorMb + "]")
        .setAppName("vrdma-tpcds-" + variant)
        .set("spark.ui.enabled", "false")
        .set("spark.sql.adaptive.enabled", "true")
        .set("spark.sql.shuffle.partitions", Integer.toString(shufflePartitions))
        .set("spark.sql.datetime.java8API.enabled", "true")
        .set("spark.sql.session.timeZone", "UTC");
    SparkVariants.apply(conf, variant, arena, arenaBytes);
    if (hosts) {
      for (String kv : args[6].split("\\|")) {
        int eq = kv.indexOf('=');
        conf.set(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
    try {
      SparkVariants.MetricsListener listener = new SparkVariants.MetricsListener();
      spark.sparkContext().addSparkListener(listener);
      SparkVariants.awaitExecutors(spark.sparkContext(), 2, hosts ? 300 : 180);
      for (String t : tables) {
        if (!t.isEmpty()) {
          Dataset<Row> df = spark.read().parquet(data.resolve(t).toString());
          if (t.equals("customer") && Arrays.asList(df.columns()).contains("c_last_review_date_sk")) {
            // the generator names it as the TPC-DS spec does; Spark's schema and query texts (q30) say
            // c_last_review_date
            df = df.withColumnRenamed("c_last_review_date_sk", "c_last_review_date");
          }
          df.createOrReplaceTempView(t);
        }
      }
      // warm-up, untimed: a few small SQL shuffles through both executors, so that the first timed query does
      // not pay for class loading and the first connections alone
      for (int i = 0; i < 3; i++) {
        spark.range(0, 200_000, 1, 4).selectExpr("id % 97 AS k", "id AS v").groupBy("k").sum("v").collectAsList();
      }
      protocol.println("READY");

      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null) {
        if (line.equals("QUIT")) {
          break;
        }
        if (!line.startsWith("RUN ")) {
          protocol.println("FAIL - unknown command " + line);
          continue;
        }
        protocol.println(run(spark, listener, line.substring(4).trim()));
      }
    } finally {
      spark.stop();
      if (!hosts) {
        Files.deleteIfExists(arena);
      }
    }
  }

  static String run(SparkSession spark, SparkVariants.MetricsListener listener, String query) {
    try {
      String sql = TpcdsQueries.text(query);
      spark.sparkContext().listenerBus().waitUntilEmpty();
      listener.reset();
      VrdmaDriverEndpoint endpoint = VrdmaDriverEndpoint.current();
      if (endpoint != null) {
        endpoint.resetCounters();
      }
      long start = System.nanoTime();
      List<Row> rows;
      try {
        rows = spark.sql(sql).collectAsList();
      } catch (Exception e) {
        // Scala throws AnalysisException undeclared: a query that names what the data lacks does not analyse
        if (e instanceof AnalysisException) {
          return "UNSUPPORTED " + query + " " + oneLine(e.getMessage());
        }
        throw e;
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      spark.sparkContext().listenerBus().waitUntilEmpty();
      long shm = endpoint == null ? 0 : endpoint.total("bytes.shm");
      long tcp = endpoint == null ? 0 : endpoint.total("bytes.tcp");
      long verbs = endpoint == null ? 0 : endpoint.total("bytes.verbs");
      return String.format(Locale.ROOT, "OK %s %.3f %d %s %d %d %d %d %d %d", query, seconds, rows.size(),
          hash(rows), listener.shuffleRead.get(), listener.remoteRead.get(), listener.shuffleWritten.get(), shm, tcp,
          verbs);
    } catch (Exception | OutOfMemoryError e) {
      e.printStackTrace();
      return "FAIL " + query + " " + e.getClass().getSimpleName() + ": " + oneLine(e.getMessage());
    }
  }

  private static String oneLine(String s) {
    if (s == null) {
      return "";
    }
    String flat = s.replaceAll("\\s+", " ").strip();
    return flat.length() > 300 ? flat.substring(0, 300) + "..." : flat;
  }

  /**
   * A hash of the rows in sorted order, each field in a canonical text: doubles rounded to 10 significant digits
   * (their last bits depend on the order partial sums arrive in, which no shuffle promises), everything else as
   * Spark returns it. First 16 hex digits of SHA-256.
   */
  static String hash(List<Row> rows) {
    List<String> lines = new ArrayList<>(rows.size());
    for (Row r : rows) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < r.length(); i++) {
        if (i > 0) {
          b.append('\u0001');
        }
        b.append(canonical(r.get(i)));
      }
      lines.add(b.toString());
    }
    lines.sort(null);
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (String l : lines) {
        sha.update(l.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) '\n');
      }
      return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String canonical(Object v) {
    if (v == null) {
      return "\\N";
    }
    if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        return Double.toString(d);
      }
      return new BigDecimal(d).round(new MathContext(10)).stripTrailingZeros().toPlainString();
    }
    if (v instanceof BigDecimal d) {
      return d.toPlainString();
    }
    return v.toString();
  }
}
