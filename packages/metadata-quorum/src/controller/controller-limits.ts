/**
 * The controller's bounds, in one place. Each bound keeps one command's record batch (one
 * Raft entry, applied atomically on every node) to a size every node can replay quickly.
 */
export const CONTROLLER_LIMITS = {
  /** Kafka's QuorumController.MAX_RECORDS_PER_USER_OP: partitions a single request may create. */
  maxRecordsPerCommand: 10_000,
  /** Attempts to draw a topic id that is not taken and does not start with '-'. */
  topicIdAttemptsMax: 100,
  /** Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE: ids handed out per AllocateProducerIds. */
  producerIdBlockSize: 1000,
} as const
