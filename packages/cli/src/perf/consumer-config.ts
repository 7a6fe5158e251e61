/**
 * Kafka consumer properties (`--consumer.config FILE` of kafka-consumer-perf-test.sh)
 * mapped to the SDK's Client and Consumer options through the console tools' table
 * (tools/kafka-properties.ts). Pure: the caller reads the file. The command's own flags
 * (--group, --from-latest, --fetch-size, --bootstrap-server) win over the file. Unlike the
 * console tools, which warn, a key outside the table is an error naming it, except the
 * deserializer classes a Java config file names.
 */
import { CliError } from '../cli-error.js'
import { parseProperties } from '../server/properties-file.js'
import { applyProperty, emptyOptions, propertyKeys, type KafkaOptions } from '../tools/kafka-properties.js'
import { IGNORED_KEYS } from './producer-config.js'

export interface PerfConsumerConfig {
  readonly client: KafkaOptions['client']
  readonly consumer: KafkaOptions['consumer']
}

export const CONSUMER_PROPERTY_KEYS: readonly string[] = propertyKeys('consumer')

/** Client and consumer options from a consumer config file's text (or null). */
export function consumerConfig(fileText: string | null): PerfConsumerConfig {
  const config = emptyOptions()
  for (const e of fileText === null ? [] : parseProperties(fileText)) {
    if (IGNORED_KEYS.has(e.key)) continue
    if (!applyProperty(config, 'consumer', e.key, e.value)) throw new CliError(`--consumer.config line ${e.line}: unknown consumer property '${e.key}' (known: ${CONSUMER_PROPERTY_KEYS.join(', ')})`)
  }
  return { client: config.client, consumer: config.consumer }
}
