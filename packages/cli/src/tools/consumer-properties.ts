/** Kafka consumer properties (`--consumer-property k=v`, `--consumer.config FILE`) as ConsumerOptions. Pure. */
import type { ConsumerOptions } from '@tributary/client'
import { kafkaOptionsFrom, type Properties } from './client-properties.js'
import { propertyKeys } from './kafka-properties.js'

/** Client and consumer keys (the table in kafka-properties.ts). */
export const CONSUMER_PROPERTY_KEYS: readonly string[] = propertyKeys('consumer')

export function consumerOptionsFrom(props: Properties): ConsumerOptions {
  return kafkaOptionsFrom(props, 'consumer').consumer
}
