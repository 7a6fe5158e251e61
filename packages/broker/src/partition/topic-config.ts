/**
 * The settings of one topic as a partition uses them: the topic's own configs from the
 * metadata image (Kafka's topic-level keys), falling back to the broker's defaults. A value
 * that does not parse or is out of range is ignored with a warning and the default used:
 * a bad config record must never take a broker down.
 */
import type { Logger } from '@tributary/metadata-quorum'
import { SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN } from '../log/log-limits.js'

export interface TopicDefaults {
  readonly segmentBytes: number
  readonly rollMs: number
  readonly retentionMs: number
  readonly retentionBytes: number
  readonly maxMessageBytes: number
  readonly minInsyncReplicas: number
}

export interface TopicSettings extends TopicDefaults {}

const INT32_MAX = 0x7fffffff

interface Rule {
  readonly key: string
  readonly field: keyof TopicSettings
  readonly valid: (n: number) => boolean
}

const RULES: readonly Rule[] = [
  { key: 'segment.bytes', field: 'segmentBytes', valid: (n) => Number.isInteger(n) && n >= SEGMENT_BYTES_MIN && n <= SEGMENT_BYTES_MAX },
  { key: 'segment.ms', field: 'rollMs', valid: (n) => Number.isSafeInteger(n) && n >= 1 },
  { key: 'retention.ms', field: 'retentionMs', valid: (n) => Number.isSafeInteger(n) && n >= -1 },
  { key: 'retention.bytes', field: 'retentionBytes', valid: (n) => Number.isSafeInteger(n) && n >= -1 },
  { key: 'max.message.bytes', field: 'maxMessageBytes', valid: (n) => Number.isInteger(n) && n >= 0 && n <= INT32_MAX },
  { key: 'min.insync.replicas', field: 'minInsyncReplicas', valid: (n) => Number.isInteger(n) && n >= 1 && n <= INT32_MAX },
]

const INTEGER = /^-?[0-9]{1,19}$/

export function topicSettings(configs: ReadonlyMap<string, string> | undefined, defaults: TopicDefaults, topic: string, logger: Logger): TopicSettings {
  const settings: { -readonly [K in keyof TopicSettings]: number } = { ...defaults }
  if (configs === undefined) return settings
  for (const rule of RULES) {
    const text = configs.get(rule.key)
    if (text === undefined) continue
    const value = INTEGER.test(text.trim()) ? Number(text.trim()) : Number.NaN
    if (!rule.valid(value)) {
      logger.warn({ topic, key: rule.key, value: text }, 'ignored an invalid topic config value; using the broker default')
      continue
    }
    settings[rule.field] = value
  }
  return settings
}
