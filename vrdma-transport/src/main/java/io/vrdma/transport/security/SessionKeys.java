package io.vrdma.transport.security;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The two AES-256 keys of one encrypted connection, one per direction, derived with HKDF-SHA256 (RFC 5869,
 * built on the JDK's HmacSHA256) from a shared secret and both sides' fresh nonces:
 * {@code PRK = HMAC(salt = serverNonce ‖ clientNonce, secret)}, then one {@code Expand} per direction with
 * {@code info = label ‖ direction ‖ context}. Fresh nonces from both ends make every connection's keys new,
 * so nothing recorded from one connection (a proof, a record) is of use on another, and neither side alone
 * chooses the keys.
 */
public final class SessionKeys {
  /** Bytes of each nonce that goes into the derivation. */
  public static final int NONCE_BYTES = 32;
  private static final int KEY_BYTES = 32;
  private static final byte[] LABEL = "vrdma-tcp-aes-gcm-v1".getBytes(StandardCharsets.UTF_8);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final byte[] clientToServer;
  private final byte[] serverToClient;

  private SessionKeys(byte[] clientToServer, byte[] serverToClient) {
    this.clientToServer = clientToServer;
    this.serverToClient = serverToClient;
  }

  /** A fresh random nonce. */
  public static byte[] newNonce() {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    return nonce;
  }

  /**
   * Derives a connection's keys; both ends call it with the same arguments.
   *
   * @param context binds the keys to what was authenticated (the block layer passes the namespace)
   */
  public static SessionKeys derive(byte[] secret, byte[] serverNonce, byte[] clientNonce, String context) {
    if (secret == null || secret.length == 0) {
      throw new IllegalArgumentException("an encrypted connection needs a shared secret");
    }
    if (serverNonce.length != NONCE_BYTES || clientNonce.length != NONCE_BYTES) {
      throw new IllegalArgumentException("nonces must be " + NONCE_BYTES + " bytes");
    }
    byte[] salt = new byte[2 * NONCE_BYTES];
    System.arraycopy(serverNonce, 0, salt, 0, NONCE_BYTES);
    System.arraycopy(clientNonce, 0, salt, NONCE_BYTES, NONCE_BYTES);
    byte[] prk = hkdfExtract(salt, secret);
    byte[] ctx = context.getBytes(StandardCharsets.UTF_8);
    return new SessionKeys(hkdfExpand(prk, info("c2s", ctx), KEY_BYTES), hkdfExpand(prk, info("s2c", ctx), KEY_BYTES));
  }

  private static byte[] info(String direction, byte[] context) {
    byte[] d = direction.getBytes(StandardCharsets.UTF_8);
    byte[] info = Arrays.copyOf(LABEL, LABEL.length + d.length + context.length);
    System.arraycopy(d, 0, info, LABEL.length, d.length);
    System.arraycopy(context, 0, info, LABEL.length + d.length, context.length);
    return info;
  }

  /** RFC 5869 section 2.2. */
  static byte[] hkdfExtract(byte[] salt, byte[] ikm) {
    return hmac(salt.length == 0 ? new byte[32] : salt, ikm);
  }

  /** RFC 5869 section 2.3: T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i), the first {@code length} bytes of T(1) ‖ T(2) …. */
  static byte[] hkdfExpand(byte[] prk, byte[] info, int length) {
    if (length > 255 * 32) {
      throw new IllegalArgumentException("HKDF-SHA256 expands to at most " + 255 * 32 + " bytes");
    }
    byte[] out = new byte[length];
    byte[] t = new byte[0];
    int done = 0;
    for (int i = 1; done < length; i++) {
      byte[] input = Arrays.copyOf(t, t.length + info.length + 1);
      System.arraycopy(info, 0, input, t.length, info.length);
      input[input.length - 1] = (byte) i;
      t = hmac(prk, input);
      int n = Math.min(t.length, length - done);
      System.arraycopy(t, 0, out, done, n);
      done += n;
    }
    return out;
  }

  private static byte[] hmac(byte[] key, byte[] data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable in this JVM", e);
    }
  }

  /** The key for what the client sends. */
  byte[] clientToServer() {
    return clientToServer.clone();
  }

  /** The key for what the server sends. */
  byte[] serverToClient() {
    return serverToClient.clone();
  }

  /** Never prints key bytes. */
  @Override
  public String toString() {
    return "SessionKeys[AES-256-GCM, two directions]";
  }
}
