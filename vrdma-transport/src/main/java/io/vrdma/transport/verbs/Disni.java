package io.vrdma.transport.verbs;

import com.ibm.disni.util.MemoryUtils;
import com.ibm.disni.verbs.RdmaProvider;
import io.vrdma.transport.verbs.VerbsProbe.Check;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Loads DiSNI's native half once per JVM. DiSNI loads {@code libdisni} in a static initializer and then
 * compares the library's JNI version with the jar's; both failures are final for the JVM, so the outcome
 * is kept and every later node gets the same one-line reason.
 */
final class Disni {
  private static Check<Integer> loaded;

  private Disni() {}

  /** The JNI version of the loaded library, or why DiSNI cannot be used. */
  static synchronized Check<Integer> load(Path library) {
    if (loaded == null) {
      loaded = tryLoad(library);
    }
    return loaded;
  }

  private static Check<Integer> tryLoad(Path library) {
    int version;
    try {
      // loads libdisni and checks its version against the jar's (NativeDispatcher's own check)
      version = RdmaProvider.provider().getVersion();
    } catch (UnsatisfiedLinkError e) {
      return Check.fail("libdisni not loadable: " + library + ": " + e.getMessage()
          + " (is rdma-core's libibverbs/librdmacm installed?)", e);
    } catch (NoClassDefFoundError e) {
      return Check.fail("the DiSNI jar (com.ibm.disni:disni:2.1) is not on the class path: " + e.getMessage(), e);
    } catch (IOException e) {
      return Check.fail("jar/native version mismatch: " + library + " does not match the DiSNI 2.1 jar ("
          + e.getMessage() + "); build libdisni from DiSNI's 2.1 release", e);
    }
    try {
      MemoryUtils.getAddress(ByteBuffer.allocateDirect(8));
    } catch (IllegalAccessError e) {
      return Check.fail("DiSNI 2.1 on Java 17 needs the JVM option " + VerbsProbe.ADD_EXPORTS, e);
    }
    return Check.ok(version);
  }
}
