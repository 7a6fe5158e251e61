/** Consumer options, named after the Java consumer's settings (fetch.max.wait.ms, fetch.min.bytes, ...). */
export interface ConsumerOptions {
  /** Consumer groups are not implemented yet: a consumer reads the partitions it is assigned. */
  readonly groupId?: string
  /** Where a partition without a position starts: its log start (true) or its end (false, default); auto.offset.reset. */
  readonly fromBeginning?: boolean
  /** How long the leader may hold a fetch waiting for minBytes (fetch.max.wait.ms). */
  readonly maxWaitMs?: number
  readonly minBytes?: number
  /** Per fetch request (fetch.max.bytes) and per partition (max.partition.fetch.bytes). */
  readonly maxBytes?: number
  readonly partitionMaxBytes?: number
}

export const CONSUMER_DEFAULTS = {
  fromBeginning: false,
  maxWaitMs: 500,
  minBytes: 1,
  maxBytes: 50 * 1024 * 1024,
  partitionMaxBytes: 1024 * 1024,
} as const

export type ResolvedConsumerOptions = Required<Omit<ConsumerOptions, 'groupId'>> & { readonly groupId: string | null }

export function resolveConsumerOptions(options: ConsumerOptions): ResolvedConsumerOptions {
  const r: ResolvedConsumerOptions = {
    groupId: options.groupId ?? null,
    fromBeginning: options.fromBeginning ?? CONSUMER_DEFAULTS.fromBeginning,
    maxWaitMs: options.maxWaitMs ?? CONSUMER_DEFAULTS.maxWaitMs,
    minBytes: options.minBytes ?? CONSUMER_DEFAULTS.minBytes,
    maxBytes: options.maxBytes ?? CONSUMER_DEFAULTS.maxBytes,
    partitionMaxBytes: options.partitionMaxBytes ?? CONSUMER_DEFAULTS.partitionMaxBytes,
  }
  for (const key of ['maxWaitMs', 'minBytes', 'maxBytes', 'partitionMaxBytes'] as const) {
    if (!Number.isInteger(r[key]) || r[key] < 0) throw new RangeError(`${key} must be a non-negative integer, got ${r[key]}`)
  }
  return r
}
