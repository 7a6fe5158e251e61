export type RecordData = string | Buffer | Uint8Array

export interface ProducerRecord {
  /** Keyed records go to murmur2(key) % partitions (as the Java client); keyless ones are sticky. */
  readonly key?: RecordData | null
  readonly value: RecordData | null
  readonly headers?: Readonly<Record<string, RecordData | null>>
  /** A fixed partition, overriding the partitioner. */
  readonly partition?: number
  /** CreateTime in ms since the epoch; now by default. */
  readonly timestamp?: number | bigint
}

/** One acknowledged record. With acks 0 the offset is -1n (the broker does not answer). */
export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
}
