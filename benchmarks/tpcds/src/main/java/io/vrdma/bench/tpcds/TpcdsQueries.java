package io.vrdma.bench.tpcds;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The TPC-DS v1.4 query texts as Spark's own test jar ships them ({@code spark-sql_2.12-3.5.9-tests.jar},
 * resources {@code tpcds/q1.sql} .. {@code tpcds/q99.sql} with the a/b variants: 103 queries).
 */
final class TpcdsQueries {
  private static final String FOLDER = "tpcds/";

  /** Every query name Spark ships, in TPC-DS order (q1, q2, ..., q14a, q14b, ..., q99). */
  static final List<String> ALL = List.of("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10", "q11", "q12",
      "q13", "q14a", "q14b", "q15", "q16", "q17", "q18", "q19", "q20", "q21", "q22", "q23a", "q23b", "q24a", "q24b",
      "q25", "q26", "q27", "q28", "q29", "q30", "q31", "q32", "q33", "q34", "q35", "q36", "q37", "q38", "q39a", "q39b",
      "q40", "q41", "q42", "q43", "q44", "q45", "q46", "q47", "q48", "q49", "q50", "q51", "q52", "q53", "q54", "q55",
      "q56", "q57", "q58", "q59", "q60", "q61", "q62", "q63", "q64", "q65", "q66", "q67", "q68", "q69", "q70", "q71",
      "q72", "q73", "q74", "q75", "q76", "q77", "q78", "q79", "q80", "q81", "q82", "q83", "q84", "q85", "q86", "q87",
      "q88", "q89", "q90", "q91", "q92", "q93", "q94", "q95", "q96", "q97", "q98", "q99");

  /**
   * The default set: the shuffle-heavy q14a (three-channel intersect and rollup), q64 (a chain of sort-merge joins
   * over sales and returns), q72 (catalog sales x inventory), q95 (self-join of web sales), plus short ones
   * (q3, q19, q42, q55: one fact table, broadcast dimensions, a small aggregate).
   */
  static final List<String> DEFAULT = List.of("q3", "q19", "q42", "q55", "q14a", "q64", "q72", "q95");

  private static final Pattern WORD = Pattern.compile("[a-z_]+");

  private TpcdsQueries() {}

  /** The text of query {@code name} from the class path. */
  static String text(String name) {
    String resource = FOLDER + name + ".sql";
    try (InputStream in = TpcdsQueries.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is not on the class path (spark-sql_2.12 tests jar missing?)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The TPC-DS tables that {@code sql} names (whole words that are table names). */
  static Set<String> tables(String sql) {
    Set<String> known = TpcdsData.names();
    Set<String> out = new LinkedHashSet<>();
    Matcher m = WORD.matcher(sql.toLowerCase(java.util.Locale.ROOT));
    while (m.find()) {
      if (known.contains(m.group())) {
        out.add(m.group());
      }
    }
    return out;
  }

  /** Query names in TPC-DS order. */
  static List<String> ordered(Set<String> names) {
    List<String> out = new ArrayList<>(names);
    out.sort(Comparator.comparingInt(ALL::indexOf));
    return out;
  }
}
