/**
 * Commands the controller accepts and what it answers. Requests and responses are the
 * generated protobuf types of proto/controller.proto, so the gRPC service passes them
 * through unchanged.
 */
import type { controller, metadata } from '@tributary/protocol'

export type ControllerCommand =
  | { readonly type: 'register_broker'; readonly request: controller.RegisterBrokerRequest }
  | { readonly type: 'broker_heartbeat'; readonly request: controller.BrokerHeartbeatRequest }
  | { readonly type: 'create_topics'; readonly request: controller.CreateTopicsRequest }
  | { readonly type: 'delete_topics'; readonly request: controller.DeleteTopicsRequest }
  | { readonly type: 'create_partitions'; readonly request: controller.CreatePartitionsRequest }
  | { readonly type: 'alter_partition'; readonly request: controller.AlterPartitionRequest }
  | { readonly type: 'elect_leaders'; readonly request: controller.ElectLeadersRequest }
  | { readonly type: 'allocate_producer_ids'; readonly request: controller.AllocateProducerIdsRequest }
  | { readonly type: 'alter_configs'; readonly request: controller.AlterConfigsRequest }

export type ControllerResponse =
  | { readonly type: 'register_broker'; readonly response: controller.RegisterBrokerResponse }
  | { readonly type: 'broker_heartbeat'; readonly response: controller.BrokerHeartbeatResponse }
  | { readonly type: 'create_topics'; readonly response: controller.CreateTopicsResponse }
  | { readonly type: 'delete_topics'; readonly response: controller.DeleteTopicsResponse }
  | { readonly type: 'create_partitions'; readonly response: controller.CreatePartitionsResponse }
  | { readonly type: 'alter_partition'; readonly response: controller.AlterPartitionResponse }
  | { readonly type: 'elect_leaders'; readonly response: controller.ElectLeadersResponse }
  | { readonly type: 'allocate_producer_ids'; readonly response: controller.AllocateProducerIdsResponse }
  | { readonly type: 'alter_configs'; readonly response: controller.AlterConfigsResponse }

/**
 * Kafka's ControllerResult: the records a command produces plus its response. The response
 * may be sent only once the records are committed (or at once when there are none).
 */
export interface ControllerResult {
  readonly records: readonly metadata.MetadataRecord[]
  readonly response: ControllerResponse
}

export interface ControllerConfig {
  /** num.partitions */
  readonly defaultNumPartitions: number
  /** default.replication.factor */
  readonly defaultReplicationFactor: number
  /** broker.session.timeout.ms */
  readonly brokerSessionTimeoutMs: number
  /**
   * metadata.log.max.record.bytes.between.snapshots: take a snapshot once this many bytes of
   * committed entry data were applied since the last one (KIP-630). At least 1.
   */
  readonly snapshotIntervalBytes: number
  /**
   * metadata.log.max.snapshot.interval.ms: take a snapshot once this long has passed since
   * the last one, if anything was committed since. 0 turns the time trigger off.
   */
  readonly snapshotIntervalMs: number
  /**
   * leader.imbalance.check.interval.seconds (in ms) with auto.leader.rebalance.enable: how
   * often the active controller moves leadership back to preferred replicas that are
   * unfenced ISR members. 0 or absent: off.
   */
  readonly leaderImbalanceCheckIntervalMs?: number
  /**
   * How long a broker that has used a BrokerSession stream with this controller may go
   * without an open stream for its current epoch (after this controller became active, or
   * after it registered) before the active controller treats that as a lost session. A
   * stream that was open and closed needs no grace: it is fenced at once. 0 or absent: the
   * "never connected" rule is off (only closed streams and the session timeout fence).
   */
  readonly brokerSessionGraceMs?: number
}

export const DEFAULT_CONTROLLER_CONFIG: ControllerConfig = {
  defaultNumPartitions: 1,
  defaultReplicationFactor: 3,
  brokerSessionTimeoutMs: 9000,
  snapshotIntervalBytes: 20 * 1024 * 1024,
  snapshotIntervalMs: 60 * 60 * 1000,
  leaderImbalanceCheckIntervalMs: 2000,
  brokerSessionGraceMs: 2000,
}

/**
 * Records the active controller writes on its own, not in answer to a request (a broker
 * whose session expired is fenced, for example). Proposed like a command's records, but
 * nobody waits for a response.
 */
export interface ControllerInternalWrite {
  readonly records: readonly metadata.MetadataRecord[]
  /** Why, for logs: a fixed sentence such as "broker session expired". */
  readonly reason: string
  readonly brokerId: number
}
