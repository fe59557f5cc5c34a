package io.vrdma.transport.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** HKDF-SHA256 as RFC 5869 defines it, and keys that differ by direction, nonce, secret and namespace. */
class SessionKeysTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void hkdfMatchesRfc5869TestCase1() {
    byte[] ikm = HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    byte[] salt = HEX.parseHex("000102030405060708090a0b0c");
    byte[] info = HEX.parseHex("f0f1f2f3f4f5f6f7f8f9");
    byte[] prk = SessionKeys.hkdfExtract(salt, ikm);
    assertArrayEquals(HEX.parseHex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"), prk);
    assertArrayEquals(HEX.parseHex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
        SessionKeys.hkdfExpand(prk, info, 42));
  }

  @Test
  void hkdfMatchesRfc5869TestCase3WithoutSaltOrInfo() {
    byte[] ikm = HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    byte[] prk = SessionKeys.hkdfExtract(new byte[0], ikm);
    assertArrayEquals(HEX.parseHex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
        + "9d201395faa4b61a96c8"), SessionKeys.hkdfExpand(prk, new byte[0], 42));
  }

  @Test
  void keysDifferByDirectionNonceSecretAndNamespace() {
    byte[] secret = "s".getBytes(StandardCharsets.UTF_8);
    byte[] a = new byte[SessionKeys.NONCE_BYTES];
    byte[] b = SessionKeys.newNonce();
    SessionKeys k = SessionKeys.derive(secret, a, b, "ns");
    assertFalse(Arrays.equals(k.clientToServer(), k.serverToClient()));
    assertArrayEquals(k.clientToServer(), SessionKeys.derive(secret, a, b, "ns").clientToServer());
    assertFalse(Arrays.equals(k.clientToServer(), SessionKeys.derive(secret, b, a, "ns").clientToServer()));
    assertFalse(Arrays.equals(k.clientToServer(), SessionKeys.derive(secret, a, b, "other").clientToServer()));
    assertFalse(Arrays.equals(k.clientToServer(),
        SessionKeys.derive("t".getBytes(StandardCharsets.UTF_8), a, b, "ns").clientToServer()));
  }

  @Test
  void refusesAMissingSecretOrShortNonces() {
    assertThrows(IllegalArgumentException.class, () -> SessionKeys.derive(null, new byte[32], new byte[32], "ns"));
    assertThrows(IllegalArgumentException.class, () -> SessionKeys.derive(new byte[] {1}, new byte[31], new byte[32], "ns"));
  }
}
