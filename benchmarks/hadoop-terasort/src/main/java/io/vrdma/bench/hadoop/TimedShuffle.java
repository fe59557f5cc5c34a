package io.vrdma.bench.hadoop;

import java.io.IOException;
import org.apache.hadoop.mapred.RawKeyValueIterator;
import org.apache.hadoop.mapred.ShuffleConsumerPlugin;
import org.apache.hadoop.util.ReflectionUtils;

/**
 * A consumer plugin that runs another one ({@link #DELEGATE}) and records in the reduce attempt's counters
 * when its shuffle began ({@link Counter#PLUGIN_START_MS}, epoch ms). The job history's {@code startTime}
 * of a reduce attempt is its container's launch, so a span measured from it includes the reduce JVM's
 * start-up; measured from this counter, the shuffle span covers only fetching and merging, the same way for
 * the stock plugin and ours.
 */
public final class TimedShuffle<K, V> implements ShuffleConsumerPlugin<K, V> {
  /** The consumer plugin class this one runs. */
  public static final String DELEGATE = "vrdma.bench.timedShuffle.delegate";

  /** Counters this plugin adds to the reduce attempt. */
  public enum Counter {
    /** Wall clock (epoch ms) when the plugin's {@code run()} was entered. */
    PLUGIN_START_MS
  }

  private ShuffleConsumerPlugin<K, V> delegate;
  private Context<K, V> context;

  @Override
  @SuppressWarnings("unchecked")
  public void init(Context<K, V> context) {
    this.context = context;
    Class<?> c = context.getJobConf().getClass(DELEGATE, null);
    if (c == null) {
      throw new IllegalArgumentException(DELEGATE + " is not set: name the consumer plugin to time");
    }
    delegate = (ShuffleConsumerPlugin<K, V>) ReflectionUtils.newInstance(c, context.getJobConf());
    delegate.init(context);
  }

  @Override
  public RawKeyValueIterator run() throws IOException, InterruptedException {
    context.getReporter().incrCounter(Counter.PLUGIN_START_MS, System.currentTimeMillis());
    return delegate.run();
  }

  @Override
  public void close() {
    delegate.close();
  }
}
