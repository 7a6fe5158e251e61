/**
 * Kafka consumer properties (`--consumer.config FILE` of kafka-consumer-perf-test.sh)
 * mapped to the SDK's Client and Consumer options. Pure: the caller reads the file. The
 * command's own flags (--group, --from-latest, --fetch-size, --bootstrap-server) win over
 * the file. A key the SDK does not know is an error naming it, except the deserializer
 * classes a Java config file names.
 */
import type { ClientOptions, ConsumerOptions } from '@tributary/client'
import { CliError } from '../cli-error.js'
import { parseProperties } from '../server/properties-file.js'

export interface PerfConsumerConfig {
  readonly client: { -readonly [K in keyof Omit<ClientOptions, 'bootstrap'>]: ClientOptions[K] } & { bootstrap?: string[] }
  readonly consumer: { -readonly [K in keyof ConsumerOptions]: ConsumerOptions[K] }
}

const IGNORED_KEYS = new Set(['key.deserializer', 'value.deserializer'])

function integer(key: string, value: string, min: number): number {
  const n = Number(value.trim())
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new CliError(`${key}: '${value}' is not an integer >= ${min}`)
  return n
}

function bool(key: string, value: string): boolean {
  const v = value.trim().toLowerCase()
  if (v === 'true' || v === 'false') return v === 'true'
  throw new CliError(`${key}: '${value}' is not true or false`)
}

type Setter = (c: PerfConsumerConfig, value: string, key: string) => void

const SETTERS: Readonly<Record<string, Setter>> = {
  'bootstrap.servers': (c, v, k) => {
    const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '')
    if (list.length === 0) throw new CliError(`${k} needs host:port`)
    c.client.bootstrap = list
  },
  'client.id': (c, v) => {
    c.client.clientId = v
  },
  'request.timeout.ms': (c, v, k) => {
    c.client.requestTimeoutMs = integer(k, v, 0)
  },
  'group.id': (c, v, k) => {
    if (v.trim() === '') throw new CliError(`${k} must not be empty`)
    c.consumer.groupId = v.trim()
  },
  'auto.offset.reset': (c, v, k) => {
    const r = v.trim().toLowerCase()
    if (r !== 'earliest' && r !== 'latest') throw new CliError(`${k}: '${v}' is not earliest or latest`)
    c.consumer.fromBeginning = r === 'earliest'
  },
  'fetch.max.wait.ms': (c, v, k) => {
    c.consumer.maxWaitMs = integer(k, v, 0)
  },
  'fetch.min.bytes': (c, v, k) => {
    c.consumer.minBytes = integer(k, v, 0)
  },
  'fetch.max.bytes': (c, v, k) => {
    c.consumer.maxBytes = integer(k, v, 0)
  },
  'max.partition.fetch.bytes': (c, v, k) => {
    c.consumer.partitionMaxBytes = integer(k, v, 0)
  },
  'enable.auto.commit': (c, v, k) => {
    c.consumer.autoCommit = bool(k, v)
  },
  'auto.commit.interval.ms': (c, v, k) => {
    c.consumer.autoCommitIntervalMs = integer(k, v, 1)
  },
  'session.timeout.ms': (c, v, k) => {
    c.consumer.sessionTimeoutMs = integer(k, v, 1)
  },
  'heartbeat.interval.ms': (c, v, k) => {
    c.consumer.heartbeatIntervalMs = integer(k, v, 1)
  },
}

export const CONSUMER_PROPERTY_KEYS: readonly string[] = Object.keys(SETTERS)

/** Client and consumer options from a consumer config file's text (or null). */
export function consumerConfig(fileText: string | null): PerfConsumerConfig {
  const config: PerfConsumerConfig = { client: {}, consumer: {} }
  for (const e of fileText === null ? [] : parseProperties(fileText)) {
    if (IGNORED_KEYS.has(e.key)) continue
    const set = SETTERS[e.key]
    if (set === undefined) throw new CliError(`--consumer.config line ${e.line}: unknown consumer property '${e.key}' (known: ${CONSUMER_PROPERTY_KEYS.join(', ')})`)
    set(config, e.value, e.key)
  }
  return config
}
