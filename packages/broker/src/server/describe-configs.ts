/**
 * DescribeConfigs for topics, answered from this broker's metadata image (Kafka answers it
 * on any broker from its own view too): for every key the broker honours, the topic's own
 * value, or the broker's default marked is_default. Keys a topic sets that the broker does not
 * honour are not reported (they change nothing). The values are what the image holds; a value
 * the broker ignores as invalid (topic-config.ts) is still shown as set, as stored.
 */
import type { MetadataImage } from '@tributary/metadata-quorum'
import { broker, ErrorCode } from '@tributary/protocol'
import { DEFAULT_COMPACTION_SETTINGS } from '../log/cleaner/cleaner-config.js'
import { COMPACTION_CONFIG_FIELDS, TOPIC_CONFIG_FIELDS, type CleanupPolicyDefault, type TopicDefaults } from '../partition/topic-config.js'

/** Every honoured key with the broker's default for it, sorted by key (Kafka's order). */
function defaultValues(defaults: TopicDefaults & CleanupPolicyDefault): readonly (readonly [string, string])[] {
  const compaction = { ...DEFAULT_COMPACTION_SETTINGS, ...(defaults.cleanupPolicy === undefined ? {} : { cleanupPolicy: defaults.cleanupPolicy }) }
  return [
    ...TOPIC_CONFIG_FIELDS.map(([name, field]) => [name, String(defaults[field])] as const),
    ...COMPACTION_CONFIG_FIELDS.map(([name, field]) => [name, String(compaction[field])] as const),
  ].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

export function describeConfigsResponse(image: MetadataImage, request: broker.DescribeConfigsRequest, defaults: TopicDefaults & CleanupPolicyDefault): broker.DescribeConfigsResponse {
  const brokerDefaults = defaultValues(defaults)
  // One answer per name, as Metadata does.
  const results = [...new Set(request.topics)].map((topic): broker.DescribedTopicConfigs => {
    if (!image.topicsByName.has(topic)) {
      const e = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      return { topic, errorCode: e.code, errorMessage: e.message, entries: [] }
    }
    const own = image.topicConfigs.get(topic)
    const entries = brokerDefaults.map(([name, fallback]): broker.DescribedConfigEntry => {
      const value = own?.get(name)
      return value === undefined ? { name, value: fallback, isDefault: true } : { name, value, isDefault: false }
    })
    return { topic, errorCode: 0, errorMessage: '', entries }
  })
  return { results }
}
