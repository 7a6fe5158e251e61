/**
 * The contract between the replica manager (every partition replica on this broker: logs,
 * replication state, produce, fetch, followers' fetchers) and the node shell around it
 * (gRPC services, broker lifecycle, metadata). Requests and responses are the generated
 * protobuf types of proto/broker.proto, so the gRPC service passes them through unchanged,
 * as the controller's service does.
 *
 * The seams the shell provides are interfaces, so tests can wire several replica managers
 * together in one process (an in-memory LeaderChannels calling another manager's
 * replicaFetch), and the node wires them over gRPC.
 */
import type { MetadataImage } from '@tributary/metadata-quorum'
import type { broker, controller, NodeId } from '@tributary/protocol'
import type { Durability } from '../replica/partition-state.js'

/** The way to the active controller, for AlterPartition. */
export interface ControllerChannel {
  /**
   * Sends one AlterPartition to the active controller (the channel finds it and follows
   * NOT_CONTROLLER hints itself). Rejects when no answer arrived (transport failure or
   * timeout): the outcome is unknown.
   */
  alterPartition(request: controller.AlterPartitionRequest): Promise<controller.AlterPartitionResponse>
}

/** A follower's connection to one leader broker. */
export interface LeaderChannel {
  /**
   * One fetch on this broker pair's single replica fetch stream. Rejects on transport
   * failure; the fetcher backs off and retries (and may reopen the channel).
   */
  fetch(request: broker.FetchRequest): Promise<broker.FetchResponse>
  offsetsForLeaderEpoch(request: broker.OffsetsForLeaderEpochRequest): Promise<broker.OffsetsForLeaderEpochResponse>
  /** Ends the stream and frees the connection; calls in flight reject. */
  close(): void
}

export interface LeaderChannels {
  /**
   * A channel to broker `leaderId` at the endpoint `image` registers for it, or null if the
   * image has no usable endpoint. The replica manager keeps one per source broker and closes
   * it when it no longer follows anything there.
   */
  open(leaderId: NodeId, image: MetadataImage): LeaderChannel | null
}

/** Broker settings the replica manager uses, with Kafka's key names in the comments. */
export interface ReplicaManagerConfig {
  readonly brokerId: NodeId
  /** The first entry of log.dirs: partition directories are `<logDir>/<topic>-<partition>`. */
  readonly logDir: string
  /** 'fsync' (default): a replica counts toward the HW only with fsynced data. 'page-cache': Kafka's mode. */
  readonly durability: Durability
  /** replica.lag.time.max.ms */
  readonly replicaLagTimeMaxMs: number
  /** replica.fetch.wait.max.ms: a follower's long-poll wait. */
  readonly replicaFetchWaitMaxMs: number
  /** replica.fetch.max.bytes (per partition) and replica.fetch.response.max.bytes. */
  readonly replicaFetchMaxBytes: number
  readonly replicaFetchResponseMaxBytes: number
  /** replica.fetch.backoff.ms: after a failed fetch. */
  readonly replicaFetchBackoffMs: number
  /** min.insync.replicas, unless the topic sets its own. */
  readonly minInsyncReplicas: number
  /** Topic-level defaults (log.segment.bytes, log.roll.ms, log.retention.ms, log.retention.bytes, message.max.bytes). */
  readonly segmentBytes: number
  readonly rollMs: number
  readonly retentionMs: number
  readonly retentionBytes: number
  readonly maxMessageBytes: number
  /** log.retention.check.interval.ms */
  readonly retentionCheckIntervalMs: number
  /** log.flush.offset.checkpoint.interval.ms: recovery-point and HW checkpoints. */
  readonly checkpointIntervalMs: number
  /** log.cleanup.policy: the cleanup.policy of topics that set none (default delete; log/cleaner/cleaner-config.ts). */
  readonly cleanupPolicy?: string
  /** log.cleaner.enable (default true) and log.cleaner.backoff.ms (default 15000): the log cleaner's round. */
  readonly logCleanerEnable?: boolean
  readonly logCleanerBackoffMs?: number
}

/** What the node shell calls. The gRPC service maps each RPC onto one method. */
export interface ReplicaService {
  /**
   * Acts on a new committed metadata image: becomes leader or follower of each local
   * partition (localChanges against the previous image), creates and deletes logs, applies
   * topic configs. Calls are serialized by the caller in image order; each resolves once the
   * transitions are in effect (leader epochs assigned, fetchers started).
   */
  applyMetadata(image: MetadataImage): Promise<void>
  /** The broker epoch this broker registered with (KIP-903; carried in replica fetches and AlterPartition). */
  setBrokerEpoch(brokerEpoch: bigint): void
  /** acks=0 resolves null once appended (the service then answers an empty response). */
  produce(request: broker.ProduceRequest): Promise<broker.ProduceResponse | null>
  /** Consumers (replica_id -1) and followers alike; `signal` aborts a long poll when the caller goes away. */
  fetch(request: broker.FetchRequest, signal: AbortSignal): Promise<broker.FetchResponse>
  listOffsets(request: broker.ListOffsetsRequest): Promise<broker.ListOffsetsResponse>
  offsetsForLeaderEpoch(request: broker.OffsetsForLeaderEpochRequest): Promise<broker.OffsetsForLeaderEpochResponse>
  /** How many partitions this broker leads (for status lines and controlled shutdown). */
  leaderCount(): number
  /** Stops fetchers and timers, completes waiting requests with errors, flushes and closes every log cleanly. */
  close(): Promise<void>
}
