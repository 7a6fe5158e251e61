/**
 * Kafka producer properties (`--producer-props k=v ...`, `--producer.config FILE`) mapped to
 * the SDK's Client and Producer options, so a command line written for
 * kafka-producer-perf-test.sh means the same here. Pure: the caller reads the file.
 *
 * Properties given on the command line win over the file's (Kafka's ProducerPerformance
 * applies --producer-props after --producer.config). A key the SDK does not know is an
 * error naming the key, except the (de)serializer classes, which a Java config file names
 * and which mean nothing to a tool that sends bytes.
 */
import type { ClientOptions, ProducerOptions } from '@tributary/client'
import { CliError } from '../cli-error.js'
import { parseProperties } from '../server/properties-file.js'

export interface PerfClientConfig {
  readonly client: Omit<ClientOptions, 'bootstrap'> & { readonly bootstrap?: readonly string[] }
  readonly producer: ProducerOptions
}

/** Keys a Java config file carries that a byte-sending tool ignores. */
const IGNORED_KEYS = new Set(['key.serializer', 'value.serializer', 'key.deserializer', 'value.deserializer'])

const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
type CompressionName = (typeof COMPRESSIONS)[number]

type Setter = (config: MutableConfig, value: string, key: string) => void

interface MutableConfig {
  client: { -readonly [K in keyof PerfClientConfig['client']]: PerfClientConfig['client'][K] }
  producer: { -readonly [K in keyof ProducerOptions]: ProducerOptions[K] }
}

function integer(key: string, value: string, min: number): number {
  const n = Number(value.trim())
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new CliError(`${key}: '${value}' is not an integer >= ${min}`)
  return n
}

function bool(key: string, value: string): boolean {
  const v = value.trim().toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  throw new CliError(`${key}: '${value}' is not true or false`)
}

const SETTERS: Readonly<Record<string, Setter>> = {
  'bootstrap.servers': (c, v, k) => {
    const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '')
    if (list.length === 0) throw new CliError(`${k} needs host:port`)
    c.client.bootstrap = list
  },
  'client.id': (c, v) => {
    c.client.clientId = v
  },
  acks: (c, v, k) => {
    const a = v.trim().toLowerCase()
    if (a === 'all' || a === '-1') c.producer.acks = 'all'
    else if (a === '0') c.producer.acks = 0
    else if (a === '1') c.producer.acks = 1
    else throw new CliError(`${k}: '${v}' is not all, -1, 0 or 1`)
  },
  'enable.idempotence': (c, v, k) => {
    c.producer.idempotent = bool(k, v)
  },
  'linger.ms': (c, v, k) => {
    c.producer.lingerMs = integer(k, v, 0)
  },
  'batch.size': (c, v, k) => {
    // Kafka allows batch.size=0 (no batching); the SDK's smallest batch holds one record.
    c.producer.batchBytes = Math.max(1, integer(k, v, 0))
  },
  'buffer.memory': (c, v, k) => {
    c.producer.bufferBytes = integer(k, v, 1)
  },
  'compression.type': (c, v, k) => {
    const name = v.trim().toLowerCase()
    if (!(COMPRESSIONS as readonly string[]).includes(name)) throw new CliError(`${k}: '${v}' is not one of ${COMPRESSIONS.join(', ')}`)
    c.producer.compression = name as CompressionName
  },
  'max.in.flight.requests.per.connection': (c, v, k) => {
    c.producer.maxInFlight = integer(k, v, 1)
  },
  'delivery.timeout.ms': (c, v, k) => {
    c.producer.deliveryTimeoutMs = integer(k, v, 0)
  },
  'request.timeout.ms': (c, v, k) => {
    const n = integer(k, v, 0)
    c.producer.requestTimeoutMs = n
    c.client.requestTimeoutMs = n
  },
  'max.block.ms': (c, v, k) => {
    c.producer.maxBlockMs = integer(k, v, 0)
  },
  'retry.backoff.ms': (c, v, k) => {
    c.client.retryBackoffMs = integer(k, v, 0)
  },
  'retry.backoff.max.ms': (c, v, k) => {
    c.client.retryBackoffMaxMs = integer(k, v, 0)
  },
  'metadata.max.age.ms': (c, v, k) => {
    c.client.metadataMaxAgeMs = integer(k, v, 0)
  },
}

/** The producer property keys this tool understands (for --help and error messages). */
export const PRODUCER_PROPERTY_KEYS: readonly string[] = Object.keys(SETTERS)

/** `k=v` items from --producer-props (Kafka takes them space-separated after one flag). */
export function parsePropItems(items: readonly string[], flag: string): { key: string; value: string }[] {
  return items.map((item) => {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new CliError(`${flag}: '${item}' is not key=value`)
    return { key: item.slice(0, eq).trim(), value: item.slice(eq + 1) }
  })
}

/**
 * Client and producer options from the config file's text (or null) and the command line's
 * `k=v` items, the command line winning.
 */
export function producerConfig(fileText: string | null, props: readonly string[]): PerfClientConfig {
  const config: MutableConfig = { client: {}, producer: {} }
  const entries = [
    ...(fileText === null ? [] : parseProperties(fileText).map((e) => ({ key: e.key, value: e.value, where: `--producer.config line ${e.line}` }))),
    ...parsePropItems(props, '--producer-props').map((e) => ({ ...e, where: '--producer-props' })),
  ]
  for (const { key, value, where } of entries) {
    if (IGNORED_KEYS.has(key)) continue
    const set = SETTERS[key]
    if (set === undefined) throw new CliError(`${where}: unknown producer property '${key}' (known: ${PRODUCER_PROPERTY_KEYS.join(', ')})`)
    set(config, value, key)
  }
  return config
}
