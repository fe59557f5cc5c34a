package io.vrdma.bench.tpcds;

import io.trino.tpcds.Results;
import io.trino.tpcds.Session;
import io.trino.tpcds.Table;
import io.trino.tpcds.column.Column;
import io.trino.tpcds.column.ColumnType;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * TPC-DS data from {@code io.trino.tpcds} (a pure-Java port of dsdgen) written as Parquet, one directory per table
 * ({@code <dir>/<table>/} with Spark's {@code _SUCCESS}), generated once and reused: a table whose directory has a
 * {@code _SUCCESS} is never generated again. A returns table comes out of the generator only together with its
 * sales table (1.4 makes the child rows while making the parent's), so both are written from one pass.
 */
final class TpcdsData {
  /** Tables with more rows than this are generated in chunks, one Spark task each (the generator's own split). */
  private static final long ROWS_PER_CHUNK = 500_000;

  private TpcdsData() {}

  /** The 24 TPC-DS tables the queries read (not dbgen_version, not the refresh "s_" source tables). */
  static List<Table> tables() {
    return Table.getBaseTables().stream().filter(t -> t != Table.DBGEN_VERSION).collect(Collectors.toList());
  }

  /** Their names, lower case as the queries spell them. */
  static Set<String> names() {
    return tables().stream().map(Table::getName).collect(Collectors.toCollection(LinkedHashSet::new));
  }

  /** {@code sf1}, {@code sf0.01}: the cache folder name of a scale factor. */
  static String scaleName(double scale) {
    return "sf" + new BigDecimal(Double.toString(scale)).stripTrailingZeros().toPlainString();
  }

  /** True when {@code table} is complete under {@code dir}. */
  static boolean present(Path dir, String table) {
    return Files.isRegularFile(dir.resolve(table).resolve("_SUCCESS"));
  }

  /** Spark type of a generator column: keys as bigint, money as its decimal, dates as date, text as string. */
  static DataType sparkType(ColumnType type) {
    return switch (type.getBase()) {
      case IDENTIFIER -> DataTypes.LongType;
      case INTEGER -> DataTypes.IntegerType;
      case DATE -> DataTypes.DateType;
      case DECIMAL -> DataTypes.createDecimalType(type.getPrecision().orElseThrow(), type.getScale().orElseThrow());
      case CHAR, VARCHAR, TIME -> DataTypes.StringType;
    };
  }

  static StructType schema(Table table) {
    List<StructField> fields = new ArrayList<>();
    for (Column c : table.getColumns()) {
      fields.add(DataTypes.createStructField(c.getName(), sparkType(c.getType()), true));
    }
    return DataTypes.createStructType(fields);
  }

  /** One generated row's text values as a typed Spark row (java8 date API: dates are {@link LocalDate}). */
  static Row toRow(Table table, String[] values) {
    Column[] columns = table.getColumns();
    Object[] out = new Object[columns.length];
    for (int i = 0; i < columns.length; i++) {
      String v = values[i + 1];
      if (v == null) {
        continue;
      }
      out[i] = switch (columns[i].getType().getBase()) {
        case IDENTIFIER -> Long.parseLong(v);
        case INTEGER -> Integer.parseInt(v);
        case DATE -> LocalDate.parse(v);
        case DECIMAL -> new BigDecimal(v);
        case CHAR, VARCHAR, TIME -> v;
      };
    }
    return RowFactory.create(out);
  }

  /**
   * The tables to make so that {@code wanted} are all present: a returns table brings its sales table and the
   * other way round (one generator pass writes both).
   */
  static Map<Table, List<Table>> passes(Path dir, Set<String> wanted) {
    Map<Table, List<Table>> passes = new LinkedHashMap<>();
    for (Table t : tables()) {
      if (!wanted.contains(t.getName()) || present(dir, t.getName())) {
        continue;
      }
      Table root = t.isChild() ? t.getParent() : t;
      passes.computeIfAbsent(root, r -> r.hasChild() ? List.of(r, r.getChild()) : List.of(r));
    }
    return passes;
  }

  /**
   * Generates the {@code wanted} tables that {@code dir} lacks at {@code scale}, with a {@code local[threads]}
   * Spark session in this JVM; prints one progress line per table.
   */
  static void generate(Path dir, double scale, Set<String> wanted, int threads, PrintStream progress)
      throws IOException {
    Map<Table, List<Table>> passes = passes(dir, wanted);
    if (passes.isEmpty()) {
      return;
    }
    Files.createDirectories(dir);
    progress.printf(Locale.ROOT, "generating TPC-DS %s into %s: %s%n", scaleName(scale), dir,
        passes.values().stream().flatMap(List::stream).map(Table::getName).collect(Collectors.joining(", ")));
    long allStart = System.nanoTime();
    SparkSession spark = SparkSession.builder()
        .master("local[" + threads + "]")
        .appName("vrdma-tpcds-datagen")
        .config("spark.ui.enabled", "false")
        // Kryo: the rows persisted between a sales table's write and its returns table's (Java serialization
        // made the second write take longer than generating)
        .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .config("spark.sql.datetime.java8API.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate();
    try {
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      for (Map.Entry<Table, List<Table>> pass : passes.entrySet()) {
        long start = System.nanoTime();
        Table root = pass.getKey();
        long rows = Session.getDefaultSession().withScale(scale).getScaling().getRowCount(root);
        int chunks = rows < 1_000_000 ? 1
            : (int) Math.min(256, Math.max(2, (rows + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK));
        String rootName = root.getName();
        JavaRDD<String[]> generated = jsc
            .parallelize(IntStream.rangeClosed(1, chunks).boxed().collect(Collectors.toList()), chunks)
            .flatMap(chunk -> rows(rootName, scale, chunks, chunk));
        if (pass.getValue().size() > 1) {
          // two tables from one pass: keep the generated rows on local disk rather than generating twice
          generated = generated.persist(StorageLevel.DISK_ONLY());
        }
        for (Table t : pass.getValue()) {
          String name = t.getName();
          Path tmp = dir.resolve("." + name + "-" + UUID.randomUUID());
          JavaRDD<Row> typed = generated.filter(v -> v[0].equals(name)).map(v -> toRow(Table.getTable(name), v));
          spark.createDataFrame(typed, schema(t)).write().parquet(tmp.toString());
          deleteTree(dir.resolve(name));
          Files.move(tmp, dir.resolve(name));
          progress.printf(Locale.ROOT, "  %-22s %7.1f MB in %.1f s%n", name, size(dir.resolve(name)) / 1e6,
              (System.nanoTime() - start) / 1e9);
        }
        generated.unpersist(false);
      }
    } finally {
      spark.stop();
    }
    progress.printf(Locale.ROOT, "data generated in %.0f s%n", (System.nanoTime() - allStart) / 1e9);
  }

  /**
   * The rows of chunk {@code chunk} (1-based, of {@code chunks}) of {@code tableName}, each as {table name,
   * values...}: a sales table's rows come with the returns rows made alongside them, told apart by their width.
   */
  static Iterator<String[]> rows(String tableName, double scale, int chunks, int chunk) {
    Table table = Table.getTable(tableName);
    Session session = Session.getDefaultSession().withScale(scale).withParallelism(chunks).withChunkNumber(chunk);
    Iterator<List<List<String>>> results = Results.constructResults(table, session).iterator();
    int parentWidth = table.getColumns().length;
    String childName = table.hasChild() ? table.getChild().getName() : null;
    int childWidth = table.hasChild() ? table.getChild().getColumns().length : -1;
    return new Iterator<>() {
      private Iterator<List<String>> current = List.<List<String>>of().iterator();

      @Override
      public boolean hasNext() {
        while (!current.hasNext() && results.hasNext()) {
          current = results.next().iterator();
        }
        return current.hasNext();
      }

      @Override
      public String[] next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        List<String> values = current.next();
        String name;
        if (values.size() == parentWidth) {
          name = tableName;
        } else if (values.size() == childWidth) {
          name = childName;
        } else {
          throw new IllegalStateException("a row of " + values.size() + " values from the generator of "
              + tableName + " (" + parentWidth + " columns, child " + childWidth + ")");
        }
        String[] out = new String[values.size() + 1];
        out[0] = name;
        for (int i = 0; i < values.size(); i++) {
          out[i + 1] = values.get(i);
        }
        return out;
      }
    };
  }

  static long size(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).collect(Collectors.toList())) {
        Files.deleteIfExists(p);
      }
    }
  }
}
