package io.vrdma.block;

/**
 * A block inside a published file: its id, where it starts in the file and how long it is.
 *
 * @param blockId the block's name, unique within its namespace (Spark: {@code shuffle_0_5_2})
 * @param fileOffset where the block starts in the file
 * @param length its bytes (0 is a valid, empty block)
 */
public record BlockSegment(String blockId, long fileOffset, long length) {
  public BlockSegment {
    if (blockId == null || blockId.isEmpty()) {
      throw new IllegalArgumentException("block without id");
    }
    if (fileOffset < 0 || length < 0) {
      throw new IllegalArgumentException("block " + blockId + " with negative offset or length");
    }
  }
}
