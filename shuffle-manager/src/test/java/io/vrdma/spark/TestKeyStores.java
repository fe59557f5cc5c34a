package io.vrdma.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A self-signed key pair and a truststore holding its certificate, made at run time with the JDK's {@code keytool}
 * in a fresh temporary directory: no private key is ever committed. For Spark 4's {@code spark.ssl.rpc.*}.
 */
final class TestKeyStores {
  static final String KEYSTORE = "keystore.p12";
  static final String TRUSTSTORE = "truststore.p12";
  /** A test store's password, guarding nothing. */
  static final String PASSWORD = "vrdma-test-store";

  private TestKeyStores() {}

  /** The directory holding {@link #KEYSTORE} and {@link #TRUSTSTORE}. */
  static Path create() {
    try {
      Path dir = Files.createTempDirectory("vrdma-test-keystores");
      Path cert = dir.resolve("cert.pem");
      keytool("-genkeypair", "-alias", "vrdma-test", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
          "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-storetype", "PKCS12",
          "-keystore", dir.resolve(KEYSTORE).toString(), "-storepass", PASSWORD, "-keypass", PASSWORD);
      keytool("-exportcert", "-rfc", "-alias", "vrdma-test", "-keystore", dir.resolve(KEYSTORE).toString(),
          "-storepass", PASSWORD, "-file", cert.toString());
      keytool("-importcert", "-noprompt", "-alias", "vrdma-test", "-file", cert.toString(), "-storetype", "PKCS12",
          "-keystore", dir.resolve(TRUSTSTORE).toString(), "-storepass", PASSWORD);
      dir.toFile().deleteOnExit();
      for (String f : List.of(KEYSTORE, TRUSTSTORE, "cert.pem")) {
        dir.resolve(f).toFile().deleteOnExit();
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void keytool(String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String output = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("keytool " + args[0] + " failed: " + output.trim());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted running keytool", e);
    }
  }
}
