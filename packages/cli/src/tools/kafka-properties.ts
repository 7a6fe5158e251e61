/**
 * The one table of Kafka client properties the CLI understands, by Kafka name, each with the
 * SDK option it sets and its value check. Both the console tools (unknown keys warn, as Kafka's
 * AbstractConfig.logUnused does) and the perf tools (unknown keys are an error) map through it;
 * each tool keeps its own policy for keys outside it. Pure.
 *
 * Error texts follow Kafka's ConfigException: "Invalid value V for configuration K: why".
 */
import type { Acks, ClientOptions, ConsumerOptions, ProducerOptions } from '@tributary/client'
import { CliError } from '../cli-error.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Options being built from properties; `client.bootstrap` is set only by bootstrap.servers. */
export interface KafkaOptions {
  readonly client: Mutable<Omit<ClientOptions, 'bootstrap'>> & { bootstrap?: string[] }
  readonly producer: Mutable<ProducerOptions>
  readonly consumer: Mutable<ConsumerOptions>
}

/** Which tools honour a key: client keys apply to every tool. */
export type PropertyScope = 'client' | 'producer' | 'consumer'

interface PropertyDef {
  readonly scope: PropertyScope
  readonly set: (o: KafkaOptions, value: string, key: string) => void
}

export function invalidValue(key: string, value: string, why: string): CliError {
  return new CliError(`Invalid value ${value} for configuration ${key}: ${why}`)
}

/** A decimal integer >= min (Kafka's INT/LONG with ConfigDef.Range.atLeast). */
export function integerValue(key: string, value: string, min: number): number {
  const t = value.trim()
  const n = Number(t)
  if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(n) || n < min) throw invalidValue(key, value, `not an integer >= ${min}`)
  return n
}

/** Kafka's BOOLEAN: true or false, any case. */
export function booleanValue(key: string, value: string): boolean {
  const v = value.trim().toLowerCase()
  if (v === 'true' || v === 'false') return v === 'true'
  throw invalidValue(key, value, 'not true or false')
}

/** Kafka's acks: all, -1 (= all), 0 or 1. */
export function parseAcks(raw: string, key = 'acks'): Acks {
  const v = raw.trim().toLowerCase()
  if (v === 'all' || v === '-1') return 'all'
  if (v === '0') return 0
  if (v === '1') return 1
  throw invalidValue(key, raw, 'must be one of all, -1, 0, 1')
}

const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

function compression(key: string, raw: string): (typeof COMPRESSIONS)[number] {
  const found = COMPRESSIONS.find((c) => c === raw.trim().toLowerCase())
  if (found === undefined) throw invalidValue(key, raw, `must be one of ${COMPRESSIONS.join(', ')}`)
  return found
}

function ints(scope: PropertyScope, pick: (o: KafkaOptions, n: number) => void, min = 0): PropertyDef {
  return { scope, set: (o, v, k) => pick(o, integerValue(k, v, min)) }
}

const PROPERTIES: Readonly<Record<string, PropertyDef>> = {
  'bootstrap.servers': {
    scope: 'client',
    set: (o, v, k) => {
      const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '')
      if (list.length === 0) throw invalidValue(k, v, 'needs host:port')
      o.client.bootstrap = list
    },
  },
  'client.id': { scope: 'client', set: (o, v) => void (o.client.clientId = v) },
  // The producer takes its own request timeout too (Kafka: one key for both).
  'request.timeout.ms': ints('client', (o, n) => void ((o.client.requestTimeoutMs = n), (o.producer.requestTimeoutMs = n))),
  'default.api.timeout.ms': ints('client', (o, n) => void (o.client.adminTimeoutMs = n)),
  'retry.backoff.ms': ints('client', (o, n) => void (o.client.retryBackoffMs = n)),
  'retry.backoff.max.ms': ints('client', (o, n) => void (o.client.retryBackoffMaxMs = n)),
  'metadata.max.age.ms': ints('client', (o, n) => void (o.client.metadataMaxAgeMs = n)),

  acks: { scope: 'producer', set: (o, v, k) => void (o.producer.acks = parseAcks(v, k)) },
  'enable.idempotence': { scope: 'producer', set: (o, v, k) => void (o.producer.idempotent = booleanValue(k, v)) },
  'linger.ms': ints('producer', (o, n) => void (o.producer.lingerMs = n)),
  // Kafka allows batch.size=0 (no batching); the SDK's smallest batch holds one record.
  'batch.size': ints('producer', (o, n) => void (o.producer.batchBytes = Math.max(1, n))),
  'buffer.memory': ints('producer', (o, n) => void (o.producer.bufferBytes = n), 1),
  'max.block.ms': ints('producer', (o, n) => void (o.producer.maxBlockMs = n)),
  'max.in.flight.requests.per.connection': ints('producer', (o, n) => void (o.producer.maxInFlight = n), 1),
  'compression.type': { scope: 'producer', set: (o, v, k) => void (o.producer.compression = compression(k, v)) },
  'delivery.timeout.ms': ints('producer', (o, n) => void (o.producer.deliveryTimeoutMs = n)),
  // Checked but unused: the SDK retries until delivery.timeout.ms, Kafka's default (KIP-91).
  retries: ints('producer', () => undefined),

  'group.id': {
    scope: 'consumer',
    set: (o, v, k) => {
      // KIP-289: an empty group id is not a group.
      if (v.trim() === '') throw invalidValue(k, v, 'must not be empty')
      o.consumer.groupId = v.trim()
    },
  },
  'auto.offset.reset': {
    scope: 'consumer',
    set: (o, v, k) => {
      const r = v.trim().toLowerCase()
      if (r !== 'earliest' && r !== 'latest') throw invalidValue(k, v, 'must be earliest or latest')
      o.consumer.fromBeginning = r === 'earliest'
    },
  },
  'enable.auto.commit': { scope: 'consumer', set: (o, v, k) => void (o.consumer.autoCommit = booleanValue(k, v)) },
  'auto.commit.interval.ms': ints('consumer', (o, n) => void (o.consumer.autoCommitIntervalMs = n), 1),
  'fetch.max.wait.ms': ints('consumer', (o, n) => void (o.consumer.maxWaitMs = n)),
  'fetch.min.bytes': ints('consumer', (o, n) => void (o.consumer.minBytes = n)),
  'fetch.max.bytes': ints('consumer', (o, n) => void (o.consumer.maxBytes = n)),
  'max.partition.fetch.bytes': ints('consumer', (o, n) => void (o.consumer.partitionMaxBytes = n)),
  'session.timeout.ms': ints('consumer', (o, n) => void (o.consumer.sessionTimeoutMs = n), 1),
  'heartbeat.interval.ms': ints('consumer', (o, n) => void (o.consumer.heartbeatIntervalMs = n), 1),
  'max.poll.interval.ms': ints('consumer', (o, n) => void (o.consumer.rebalanceTimeoutMs = n), 1),
}

/** The keys a tool of `scope` understands: the client keys plus its own. */
export function propertyKeys(scope: PropertyScope): string[] {
  return Object.entries(PROPERTIES)
    .filter(([, d]) => d.scope === 'client' || d.scope === scope)
    .map(([k]) => k)
}

export function emptyOptions(): KafkaOptions {
  return { client: {}, producer: {}, consumer: {} }
}

/**
 * Applies one property to `into` if a tool of `scope` knows it; false when it does not (the
 * caller's policy: warn or refuse). A bad value throws, naming the key.
 */
export function applyProperty(into: KafkaOptions, scope: PropertyScope, key: string, value: string): boolean {
  const def = PROPERTIES[key]
  if (def === undefined || (def.scope !== 'client' && def.scope !== scope)) return false
  def.set(into, value, key)
  return true
}

export interface PropertyItem {
  readonly key: string
  readonly value: string
}

/** `k=v` items from the command line, split at the first `=`; `flag` names the option in the error. */
export function parsePropItems(items: readonly string[], flag: string): PropertyItem[] {
  return items.map((item) => {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new CliError(`${flag} '${item}' is not key=value`)
    return { key: item.slice(0, eq).trim(), value: item.slice(eq + 1) }
  })
}

