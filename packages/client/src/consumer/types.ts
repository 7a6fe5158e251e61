export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

export interface ConsumerRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  /** CreateTime (or LogAppendTime for such topics), ms since the epoch. */
  readonly timestamp: bigint
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** In record order; a key may repeat, as in Kafka. */
  readonly headers: readonly { readonly key: string; readonly value: Buffer | null }[]
}
