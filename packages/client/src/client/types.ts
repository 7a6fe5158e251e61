/** What the client knows of the cluster, as the public API returns it. */

export interface BrokerInfo {
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly rack: string | null
}

export interface PartitionInfo {
  readonly partition: number
  /** -1 while leaderless. */
  readonly leader: number
  readonly leaderEpoch: number
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
  readonly offlineReplicas: readonly number[]
  /** A Kafka error code (LEADER_NOT_AVAILABLE while leaderless), 0 when none. */
  readonly errorCode: number
}

export interface TopicInfo {
  readonly name: string
  readonly topicId: string
  readonly isInternal: boolean
  readonly partitions: readonly PartitionInfo[]
}

export interface ClusterInfo {
  readonly clusterId: string
  /** The active controller, -1 if the answering broker does not know it. */
  readonly controllerId: number
  readonly brokers: readonly BrokerInfo[]
}
