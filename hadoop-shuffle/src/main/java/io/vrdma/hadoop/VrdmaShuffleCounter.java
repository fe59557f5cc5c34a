package io.vrdma.hadoop;

/** Job counters of the vRDMA shuffle, next to Hadoop's own shuffle counters. */
public enum VrdmaShuffleCounter {
  /** Bytes of map outputs (as stored in the map's file) that came over our tiers. */
  VRDMA_SHUFFLE_BYTES,
  /** Map outputs that came over our tiers. */
  VRDMA_SHUFFLE_MAPS,
  /** Map outputs fetched with Hadoop's HTTP shuffle because our path to their host was not there. */
  VRDMA_FALLBACK_MAPS,
  /**
   * Map outputs read straight from local files: under the LocalJobRunner, or from the job's local dirs on the
   * reducer's own NodeManager ({@code vrdma.hadoop.shuffle.hostLocal}).
   */
  VRDMA_LOCAL_MAPS,
  /** Bytes of map outputs (as stored in the map's file) read straight from local files. */
  VRDMA_LOCAL_BYTES,
  /** Bytes the block client read over the shm tier (index records included). */
  VRDMA_SHM_BYTES,
  /** Bytes the block client read over the verbs tier (index records included). */
  VRDMA_VERBS_BYTES,
  /** Bytes the block client read over the tcp tier (index records included). */
  VRDMA_TCP_BYTES,
  /** Bytes the block client read over the rsocket tier (index records included). */
  VRDMA_RSOCKET_BYTES
}
