/**
 * The settings of one topic as a partition uses them: the topic's own configs from the
 * metadata image (Kafka's topic-level keys), falling back to the broker's defaults. A value
 * that does not parse or is out of range is ignored with a warning and the default used:
 * a bad config record must never take a broker down.
 */
import { topicConfigValueError, type Logger } from '@tributary/metadata-quorum'

export interface TopicDefaults {
  readonly segmentBytes: number
  readonly rollMs: number
  readonly retentionMs: number
  readonly retentionBytes: number
  readonly maxMessageBytes: number
  readonly minInsyncReplicas: number
}

export interface TopicSettings extends TopicDefaults {}

/**
 * Which setting each topic-level key sets, sorted by key (DescribeConfigs reports them in this
 * order). The values are judged by the controller's own rule (topicConfigValueError), so broker
 * and controller agree on what is valid.
 */
export const TOPIC_CONFIG_FIELDS: readonly (readonly [string, keyof TopicSettings])[] = [
  ['max.message.bytes', 'maxMessageBytes'],
  ['min.insync.replicas', 'minInsyncReplicas'],
  ['retention.bytes', 'retentionBytes'],
  ['retention.ms', 'retentionMs'],
  ['segment.bytes', 'segmentBytes'],
  ['segment.ms', 'rollMs'],
]

export function topicSettings(configs: ReadonlyMap<string, string> | undefined, defaults: TopicDefaults, topic: string, logger: Logger): TopicSettings {
  const settings: { -readonly [K in keyof TopicSettings]: number } = { ...defaults }
  if (configs === undefined) return settings
  for (const [key, field] of TOPIC_CONFIG_FIELDS) {
    const text = configs.get(key)
    if (text === undefined) continue
    if (topicConfigValueError(key, text) !== null) {
      logger.warn({ topic, key, value: text }, 'ignored an invalid topic config value; using the broker default')
      continue
    }
    settings[field] = Number(text.trim())
  }
  return settings
}
