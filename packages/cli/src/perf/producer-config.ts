/**
 * Kafka producer properties (`--producer-props k=v ...`, `--producer.config FILE`) mapped to
 * the SDK's Client and Producer options through the console tools' table
 * (tools/kafka-properties.ts), so a command line written for kafka-producer-perf-test.sh means
 * the same here. Pure: the caller reads the file.
 *
 * Properties given on the command line win over the file's (Kafka's ProducerPerformance
 * applies --producer-props after --producer.config). Unlike the console tools, which warn, a
 * key outside the table is an error naming the key, except the (de)serializer classes, which
 * a Java config file names and which mean nothing to a tool that sends bytes.
 */
import type { ClientOptions, ProducerOptions } from '@tributary/client'
import { CliError } from '../cli-error.js'
import { parseProperties } from '../server/properties-file.js'
import { applyProperty, emptyOptions, parsePropItems, propertyKeys } from '../tools/kafka-properties.js'

export { parsePropItems }

export interface PerfClientConfig {
  readonly client: Omit<ClientOptions, 'bootstrap'> & { readonly bootstrap?: readonly string[] }
  readonly producer: ProducerOptions
}

/** Keys a Java config file carries that a byte-sending tool ignores. */
export const IGNORED_KEYS: ReadonlySet<string> = new Set(['key.serializer', 'value.serializer', 'key.deserializer', 'value.deserializer'])

/** The producer property keys this tool understands (for --help and error messages). */
export const PRODUCER_PROPERTY_KEYS: readonly string[] = propertyKeys('producer')

/**
 * Client and producer options from the config file's text (or null) and the command line's
 * `k=v` items, the command line winning.
 */
export function producerConfig(fileText: string | null, props: readonly string[]): PerfClientConfig {
  const config = emptyOptions()
  const entries = [
    ...(fileText === null ? [] : parseProperties(fileText).map((e) => ({ key: e.key, value: e.value, where: `--producer.config line ${e.line}` }))),
    ...parsePropItems(props, '--producer-props').map((e) => ({ ...e, where: '--producer-props' })),
  ]
  for (const { key, value, where } of entries) {
    if (IGNORED_KEYS.has(key)) continue
    if (!applyProperty(config, 'producer', key, value)) throw new CliError(`${where}: unknown producer property '${key}' (known: ${PRODUCER_PROPERTY_KEYS.join(', ')})`)
  }
  return { client: config.client, producer: config.producer }
}
