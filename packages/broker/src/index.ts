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
export {
  PartitionState,
  type PartitionStateConfig,
  type PartitionStateOptions,
  type PartitionStateView,
  type PartitionRole,
  type PartitionMetadata,
  type Durability,
  type BecomeLeaderInput,
  type BecomeLeaderResult,
  type BecomeFollowerInput,
  type BecomeFollowerResult,
  type FollowerTruncation,
  type FollowerFetch,
  type FollowerFetchResult,
  type TickResult,
  type IsrChangeProposal,
  type AlterPartitionResponse,
  type AlterPartitionOutcome,
  type MetadataUpdateResult,
  type AcksAllAdmission,
} from './replica/partition-state.js'
export type { AlterPartitionRequest, IsrState } from './replica/isr-state.js'
export type { FollowerProgressView } from './replica/follower-progress.js'
export { classifyAlterPartitionError, type AlterPartitionErrorClass } from './replica/classify-alter-partition-error.js'
export {
  ProducerStateManager,
  DEFAULT_PRODUCER_STATE_CONFIG,
  incrementSequence,
  type ProducerStateConfig,
  type ProducerStateView,
  type ProducerBatchMetadata,
  type ProducerErrorCode,
  type AppendCheck,
  type TruncateResult,
} from './producer/producer-state-manager.js'
export * as producerLimits from './producer/producer-limits.js'
export { ReplicaManager, REPLICA_MANAGER_DEFAULTS, type ReplicaManagerOptions } from './replica-manager/replica-manager.js'
export type { ReplicaService, LeaderChannel, LeaderChannels, ControllerChannel, ReplicaManagerConfig } from './replica-manager/types.js'
export * as replicaLimits from './replica-manager/replica-limits.js'
export { Partition, type PartitionOptions, type LeaderAppendOutcome, type FollowerAppendOutcome, type AcksAllStatus } from './partition/partition.js'
export { topicSettings, type TopicSettings, type TopicDefaults } from './partition/topic-config.js'
export { PARTITION_METADATA_FILE, HIGH_WATERMARK_CHECKPOINT_FILE } from './partition/partition-files.js'
// The node shell: startNode / startBrokerNode, the broker's gRPC service and channels.
export {
  startNode,
  startBrokerNode,
  createDefaultReplicaManager,
  DEFAULT_REPLICA_SETTINGS,
  type NodeConfig,
  type NodeRole,
  type TributaryNode,
  type BrokerView,
  type BrokerSettings,
  type BrokerListener,
  type ReplicaSettings,
  type ReplicaManagerDeps,
  type ReplicaManagerFactory,
} from './node/start-node.js'
export { ensureMetaProperties, clusterIdFromVoters, MetaPropertiesError, META_PROPERTIES_FILE, type MetaProperties } from './node/meta-properties.js'
export { clusterEvents, localLeadershipEvent } from './node/image-events.js'
export * as brokerNodeLimits from './node/node-limits.js'
export { applyBrokerV8Flags } from './node/v8-tuning.js'
// Testing utility (not for production): N combined nodes in one process on free ports and temp dirs.
export {
  startInProcessCluster,
  inProcessNodeConfig,
  freePort,
  testLogger,
  type InProcessCluster,
  type InProcessClusterOptions,
} from './node/in-process-cluster.js'
export * as brokerServerLimits from './server/server-limits.js'
export { metadataResponse, type MetadataContext } from './server/metadata-response.js'
// Consumer groups (KIP-848): the pure coordinator state machine and the __consumer_offsets records.
export {
  GroupCoordinatorShard,
  coordinatorPartition,
  GROUP_STATE_NAMES,
  type ShardResult,
} from './group/group-coordinator-shard.js'
export {
  ConsumerGroup,
  DEFAULT_CONSUMER_GROUP_CONFIG,
  type ConsumerGroupConfig,
  type GroupState,
  type TopicInfo,
  type TopicsView,
  type HeartbeatRequest,
  type HeartbeatOutcome,
  type MemberView,
} from './group/consumer-group.js'
export { OffsetStore } from './group/offset-store.js'
export { recordKey, compactRecords, type GroupRecord, type GroupRecordType, type MemberState } from './group/group-records.js'
export { encodeGroupRecord, decodeGroupRecord, GROUP_RECORD_VERSION, type EncodedGroupRecord, type DecodedGroupRecord } from './group/group-record-codec.js'
export { GroupErrorCode } from './group/group-error-codes.js'
export * as groupLimits from './group/group-limits.js'
