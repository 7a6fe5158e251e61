/**
 * The settings of one topic as a partition uses them: the topic's own configs from the
 * metadata image (Kafka's topic-level keys), falling back to the broker's defaults. A value
 * that does not parse or is out of range is ignored with a warning and the default used:
 * a bad config record must never take a broker down.
 */
import { topicConfigValueError, type Logger } from '@tributary/metadata-quorum'
import { DEFAULT_COMPACTION_SETTINGS, type CompactionSettings } from '../log/cleaner/cleaner-config.js'

export interface TopicDefaults {
  readonly segmentBytes: number
  readonly rollMs: number
  readonly retentionMs: number
  readonly retentionBytes: number
  readonly maxMessageBytes: number
  readonly minInsyncReplicas: number
}

/**
 * The compaction settings (cleanup.policy and the cleaner's keys, log/cleaner/cleaner-config.ts)
 * are optional so that settings built by hand (tests) need not name them: absent means
 * Kafka's defaults. topicSettings() always fills them in.
 */
export interface TopicSettings extends TopicDefaults, Partial<CompactionSettings> {}

/** The broker-level default of cleanup.policy (`log.cleanup.policy`), when the broker sets one. */
export interface CleanupPolicyDefault {
  readonly cleanupPolicy?: string
}

/** Topic-level keys of the log cleaner and the setting each sets (not reported by DescribeConfigs yet). */
export const COMPACTION_CONFIG_FIELDS: readonly (readonly [string, keyof CompactionSettings])[] = [
  ['cleanup.policy', 'cleanupPolicy'],
  ['delete.retention.ms', 'deleteRetentionMs'],
  ['min.cleanable.dirty.ratio', 'minCleanableDirtyRatio'],
  ['min.compaction.lag.ms', 'minCompactionLagMs'],
]

/**
 * Which setting each topic-level key sets, sorted by key (DescribeConfigs reports them in this
 * order). The values are judged by the controller's own rule (topicConfigValueError), so broker
 * and controller agree on what is valid.
 */
export const TOPIC_CONFIG_FIELDS: readonly (readonly [string, keyof TopicDefaults])[] = [
  ['max.message.bytes', 'maxMessageBytes'],
  ['min.insync.replicas', 'minInsyncReplicas'],
  ['retention.bytes', 'retentionBytes'],
  ['retention.ms', 'retentionMs'],
  ['segment.bytes', 'segmentBytes'],
  ['segment.ms', 'rollMs'],
]

/**
 * `replicationFactor`, when known, caps the broker's min.insync.replicas for a topic that does
 * not set its own: DESIGN.md's default is "min.insync.replicas 2 when RF >= 3", and a broker
 * default above a topic's replica count could never be met, so every acks=all write to, say,
 * the seed's `--replication-factor 1` topic would fail NOT_ENOUGH_REPLICAS. A topic-level
 * value is kept as set (the user asked for it).
 */
export function topicSettings(configs: ReadonlyMap<string, string> | undefined, defaults: TopicDefaults & CleanupPolicyDefault, topic: string, logger: Logger, replicationFactor?: number): TopicSettings {
  const settings: { -readonly [K in keyof TopicDefaults]: number } = {
    segmentBytes: defaults.segmentBytes,
    rollMs: defaults.rollMs,
    retentionMs: defaults.retentionMs,
    retentionBytes: defaults.retentionBytes,
    maxMessageBytes: defaults.maxMessageBytes,
    minInsyncReplicas: replicationFactor === undefined || replicationFactor < 1 ? defaults.minInsyncReplicas : Math.min(defaults.minInsyncReplicas, replicationFactor),
  }
  const compaction: { -readonly [K in keyof CompactionSettings]: CompactionSettings[K] } = { ...DEFAULT_COMPACTION_SETTINGS }
  if (defaults.cleanupPolicy !== undefined && topicConfigValueError('cleanup.policy', defaults.cleanupPolicy) === null) compaction.cleanupPolicy = defaults.cleanupPolicy.trim()
  if (configs === undefined) return { ...settings, ...compaction }
  for (const [key, field] of COMPACTION_CONFIG_FIELDS) {
    const text = validConfigText(configs, key, topic, logger)
    if (text === undefined) continue
    if (field === 'cleanupPolicy') compaction.cleanupPolicy = text
    else compaction[field] = Number(text)
  }
  for (const [key, field] of TOPIC_CONFIG_FIELDS) {
    const text = validConfigText(configs, key, topic, logger)
    if (text !== undefined) settings[field] = Number(text)
  }
  return { ...settings, ...compaction }
}

/** The topic's trimmed value of `key`, or undefined when unset or invalid (an invalid one is logged and ignored). */
function validConfigText(configs: ReadonlyMap<string, string>, key: string, topic: string, logger: Logger): string | undefined {
  const text = configs.get(key)
  if (text === undefined) return undefined
  if (topicConfigValueError(key, text) !== null) {
    logger.warn({ topic, key, value: text }, 'ignored an invalid topic config value; using the broker default')
    return undefined
  }
  return text.trim()
}
