package io.vrdma.block.protocol;

import io.vrdma.block.BlockException.AuthenticationException;
import io.vrdma.transport.Connection;
import io.vrdma.transport.InboundConnection;
import io.vrdma.transport.TransportException;
import io.vrdma.transport.config.TransportConf;
import io.vrdma.transport.security.SessionKeys;
import java.nio.ByteBuffer;

/**
 * Turns the first proof of a namespace secret on a connection into an encrypted connection, both ends.
 *
 * <p>The client that must encrypt ({@link TransportConf#ENCRYPTION_REQUIRED}) appends a fresh 32-byte nonce to
 * its AUTH_PROOF. A server that accepts the proof answers {@link Messages#PROOF_OK_ENCRYPTED} in plaintext and
 * from the next byte on both ends speak AES-256-GCM records under
 * {@code HKDF-SHA256(secret, serverNonce ‖ clientNonce, namespace)}. The secret never crosses the wire; the
 * server's nonce is the one its proof answered, so a recorded proof replayed on a new connection meets a new
 * nonce and fails, and the keys of every connection are new. The server never sends a byte the client could
 * read without the secret, so a server that does not know the secret is found out at its first record (tag
 * failure), which makes the authentication mutual.
 */
public final class ChannelEncryption {
  private ChannelEncryption() {}

  /**
   * Server side, after a proof was verified: arranges the switch and picks the answer.
   *
   * @return the answer byte, or null when the connection must be refused (required, and the client did not ask)
   */
  public static Byte serverAnswer(InboundConnection peer, byte[] secret, String namespace, byte[] serverNonce,
      byte[] clientNonce) {
    if (peer.encrypted()) {
      return Messages.PROOF_OK_ENCRYPTED;
    }
    if (clientNonce != null) {
      peer.startEncryptionAfterAnswer(SessionKeys.derive(secret, serverNonce, clientNonce, namespace));
      return Messages.PROOF_OK_ENCRYPTED;
    }
    return Messages.PROOF_OK;
  }

  /** The server refuses an unencrypted connection with this line when it requires encryption. */
  public static String unencryptedRefusal(String namespace) {
    return "peer did not ask to encrypt its connection for namespace " + namespace + ", and this node requires"
        + " encryption (" + TransportConf.ENCRYPTION_REQUIRED.name() + "); is the peer's engine configured to"
        + " encrypt too?";
  }

  /**
   * Client side: proves the secret of {@code namespace} on {@code connection} and, when {@code encrypt},
   * switches it to encrypted records. Blocks for the answers.
   *
   * @param call sends a control message and waits for its answer
   * @throws AuthenticationException when the peer refuses the proof, or does not encrypt when asked to
   */
  public static void prove(Connection connection, String peerName, String namespace, byte[] secret, boolean encrypt,
      Call call) throws TransportException {
    try {
      ByteBuffer nonce = call.call(Messages.authChallenge(namespace));
      byte[] serverNonce = new byte[nonce.remaining()];
      nonce.get(serverNonce);
      byte[] clientNonce = encrypt && !connection.encrypted() ? SessionKeys.newNonce() : null;
      ByteBuffer answer = call.call(Messages.authProof(namespace, SecretProof.prove(secret, namespace, serverNonce),
          clientNonce));
      byte result = answer.hasRemaining() ? answer.get() : 0;
      if (clientNonce != null) {
        if (result != Messages.PROOF_OK_ENCRYPTED) {
          connection.close();
          throw new AuthenticationException("peer " + peerName + " accepted the secret of namespace " + namespace
              + " but does not encrypt; refused: this node requires encryption ("
              + TransportConf.ENCRYPTION_REQUIRED.name() + ")", null);
        }
        connection.startEncryption(SessionKeys.derive(secret, serverNonce, clientNonce, namespace));
      }
    } catch (AuthenticationException e) {
      throw e;
    } catch (TransportException e) {
      throw new AuthenticationException("peer " + peerName + " refused authentication for namespace " + namespace
          + ": " + e.getMessage(), e);
    }
  }

  /** A control request that waits for its answer. */
  @FunctionalInterface
  public interface Call {
    /** Sends {@code message} on the connection being proven and returns the peer's answer. */
    ByteBuffer call(ByteBuffer message) throws TransportException;
  }
}
