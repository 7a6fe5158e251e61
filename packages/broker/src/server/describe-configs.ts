/**
 * DescribeConfigs for topics, answered from this broker's metadata image (Kafka answers it
 * on any broker from its own view too): for every key the broker honours, the topic's own
 * value, or the broker's default marked is_default. Keys a topic sets that the broker does not
 * honour are not reported (they change nothing). The values are what the image holds; a value
 * the broker ignores as invalid (topic-config.ts) is still shown as set, as stored.
 */
import type { MetadataImage } from '@tributary/metadata-quorum'
import { broker, ErrorCode } from '@tributary/protocol'
import { TOPIC_CONFIG_FIELDS, type TopicDefaults } from '../partition/topic-config.js'

export function describeConfigsResponse(image: MetadataImage, request: broker.DescribeConfigsRequest, defaults: TopicDefaults): broker.DescribeConfigsResponse {
  // One answer per name, as Metadata does.
  const results = [...new Set(request.topics)].map((topic): broker.DescribedTopicConfigs => {
    if (!image.topicsByName.has(topic)) {
      const e = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      return { topic, errorCode: e.code, errorMessage: e.message, entries: [] }
    }
    const own = image.topicConfigs.get(topic)
    const entries = TOPIC_CONFIG_FIELDS.map(([name, field]): broker.DescribedConfigEntry => {
      const value = own?.get(name)
      return value === undefined ? { name, value: String(defaults[field]), isDefault: true } : { name, value, isDefault: false }
    })
    return { topic, errorCode: 0, errorMessage: '', entries }
  })
  return { results }
}
