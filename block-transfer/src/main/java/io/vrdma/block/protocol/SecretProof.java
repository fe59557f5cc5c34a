package io.vrdma.block.protocol;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Challenge–response over a shared secret: the server sends a fresh random nonce, the client answers
 * HMAC-SHA256(secret, label ‖ namespace ‖ nonce). The secret never crosses the wire, a proof is good
 * for one nonce only, and it binds the namespace, so a proof for one application opens nothing else.
 */
public final class SecretProof {
  private static final byte[] LABEL = "vrdma-block-auth-v1".getBytes(StandardCharsets.UTF_8);
  private static final SecureRandom RANDOM = new SecureRandom();

  private SecretProof() {}

  public static byte[] newNonce() {
    byte[] nonce = new byte[Messages.NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    return nonce;
  }

  public static byte[] prove(byte[] secret, String namespace, byte[] nonce) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      mac.update(LABEL);
      mac.update(namespace.getBytes(StandardCharsets.UTF_8));
      mac.update(nonce);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable in this JVM", e);
    }
  }

  /** Constant-time comparison of a received proof with the expected one. */
  public static boolean verify(byte[] secret, String namespace, byte[] nonce, byte[] proof) {
    return MessageDigest.isEqual(prove(secret, namespace, nonce), proof);
  }
}
