package io.vrdma.hadoop;

import io.vrdma.block.client.BlockClient;
import io.vrdma.block.client.BlockFetchListener;
import io.vrdma.block.client.FetchedBlock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Fetches blocks for the service's tests, as a reducer's client would. */
final class BlockFetches {
  private BlockFetches() {}

  /** Fetches blocks from the service on loopback: id → a copy of its bytes (the block released), or → the failure. */
  static Map<String, Object> bytesOrFailures(BlockClient client, int port, String namespace, byte[] secret,
      List<String> ids) throws Exception {
    Map<String, Object> got = new ConcurrentHashMap<>();
    client.fetch("127.0.0.1", port, namespace, secret, ids, new BlockFetchListener() {
      @Override
      public void onBlockFetchSuccess(String blockId, FetchedBlock block) {
        try (block) {
          ByteBuffer b = block.nioByteBuffer();
          byte[] bytes = new byte[b.remaining()];
          b.get(bytes);
          got.put(blockId, bytes);
        } catch (IOException e) {
          got.put(blockId, e);
        }
      }

      @Override
      public void onBlockFetchFailure(String blockId, Throwable cause) {
        got.put(blockId, cause);
      }
    }).get(30, TimeUnit.SECONDS);
    return got;
  }
}
