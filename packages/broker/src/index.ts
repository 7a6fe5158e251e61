export {}
export {
  PartitionLog,
  DEFAULT_PARTITION_LOG_CONFIG,
  LEADER_EPOCH_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  CLEAN_SHUTDOWN_FILE,
  type PartitionLogConfig,
  type PartitionLogOptions,
  type AppendResult,
  type ReadResult,
  type ReadOptions,
  type ListOffsetsQuery,
  type OffsetAndTimestamp,
  type RetentionParams,
  type RetentionResult,
  type EpochAssignment,
} from './log/partition-log.js'
export type { InvalidAppend } from './log/validate-append.js'
export { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEndOffset, type EpochEntry } from './log/leader-epoch-cache.js'
export { partitionDir, partitionDirName, parsePartitionDirName } from './log/partition-dir.js'
export * as logLimits from './log/log-limits.js'
