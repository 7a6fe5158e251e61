import type { ClusterInfo, TopicInfo } from '../client/types.js'

export interface NewTopic {
  readonly name: string
  /** The broker's num.partitions when left out. */
  readonly partitions?: number
  /** The broker's default.replication.factor when left out. */
  readonly replicationFactor?: number
  readonly configs?: Readonly<Record<string, string>>
}

export interface CreateTopicsOptions {
  /** A topic that exists already is not an error (kafka-topics --if-not-exists). */
  readonly ifNotExists?: boolean
  /** Only check the request (the controller validates and creates nothing). */
  readonly validateOnly?: boolean
  /** Wait until every new partition has a leader (default true), so a producer can start at once. */
  readonly waitForLeaders?: boolean
}

/** One topic's config changes (Kafka's IncrementalAlterConfigs, KIP-339). */
export interface TopicConfigAlteration {
  readonly topic: string
  /** Keys to set to these values. */
  readonly set?: Readonly<Record<string, string>>
  /** Keys to remove from the topic, so the broker default applies again. */
  readonly delete?: readonly string[]
}

export interface AlterConfigsOptions {
  /** Only check the request (the controller validates and changes nothing). */
  readonly validateOnly?: boolean
}

export interface ConfigEntry {
  readonly name: string
  readonly value: string
  /** True when the topic does not set the key and the broker's default applies. */
  readonly isDefault: boolean
}

export interface TopicConfigs {
  readonly topic: string
  /** Every topic config key the broker honours, sorted by name. */
  readonly entries: readonly ConfigEntry[]
}

export interface ListedTopic {
  readonly name: string
  readonly topicId: string
  readonly isInternal: boolean
  readonly partitions: number
}

export type TopicDescription = TopicInfo
export type ClusterDescription = ClusterInfo

/** -1n latest (the high watermark), -2n earliest, else the first offset with a timestamp >= it. */
export type OffsetSpec = 'latest' | 'earliest' | bigint | number

export interface PartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  /** -1n for latest and earliest. */
  readonly timestamp: bigint
  readonly leaderEpoch: number
}
