package io.vrdma.bench.hadoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReducerStartBenchmarkSmokeTest {
  @TempDir
  Path out;

  @Test
  void bothPathsReadEveryMapOutputInAFreshJvmAndTheReportSaysSo() throws Exception {
    Path agent = Path.of(System.getProperty("vrdma.plugin.jar", "(vrdma.plugin.jar not set)"));
    assertTrue(Files.isRegularFile(agent), "no plugin jar at " + agent + " (package hadoop-shuffle first)");

    ReducerStartBenchmark.run(ReducerStartBenchmark.parse(new String[] {"--rounds", "1", "--maps", "3",
        "--block-bytes", "100000", "--task-start-ms", "1500", "--warm-up-agent", agent.toString(), "--out",
        out.toString()}));

    String md = Files.readString(out.resolve("reducer-start.md"));
    assertTrue(md.matches("(?s).*\\| vrdma \\| [0-9]+ \\[.*"), md);
    assertTrue(md.matches("(?s).*\\| http \\| [0-9]+ \\[.*"), md);
    assertTrue(md.contains("ours with the warm-up agent"), md);
    assertTrue(md.matches("(?s).*Target \\(issue 17, proposed\\): ours to the first byte <= 300 ms: (met|MISSED).*"),
        md);
  }

  @Test
  void flags() {
    assertNull(ReducerStartBenchmark.parse(new String[] {"--help"}));
    ReducerStartBenchmark.Options o = ReducerStartBenchmark.parse(new String[] {"--rounds", "2", "--maps", "4",
        "--block-bytes", "10", "--task-start-ms", "0", "--jvm-options", " -Xint  -Dx=1 "});
    assertEquals(2, o.rounds());
    assertEquals(4, o.maps());
    assertEquals(10, o.blockBytes());
    assertEquals(0, o.taskStartMs());
    assertNull(o.warmUpAgent());
    assertEquals(List.of("-Xint", "-Dx=1"), o.jvmOptions());
    assertThrows(IllegalArgumentException.class, () -> ReducerStartBenchmark.parse(new String[] {"--maps", "0"}));
    assertThrows(IllegalArgumentException.class,
        () -> ReducerStartBenchmark.parse(new String[] {"--task-start-ms", "-1"}));
    assertThrows(IllegalArgumentException.class, () -> ReducerStartBenchmark.parse(new String[] {"--bogus", "1"}));
  }
}
