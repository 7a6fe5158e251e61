/**
 * Kafka producer properties (`--producer-property k=v`, `--producer.config FILE`) and the
 * console producer's dedicated flags, as the SDK's ProducerOptions. Pure. Dedicated flags win
 * over properties (Kafka's ConsoleProducer merges a flag only when it is given).
 */
import type { Acks, ProducerOptions } from '@tributary/client'
import { CliError } from '../cli-error.js'
import { nonNegativeInt, type Properties } from './client-properties.js'

export const PRODUCER_PROPERTY_KEYS = [
  'acks',
  'enable.idempotence',
  'linger.ms',
  'batch.size',
  'buffer.memory',
  'max.block.ms',
  'max.in.flight.requests.per.connection',
  'compression.type',
  'delivery.timeout.ms',
  'request.timeout.ms',
  'retries',
] as const

const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
type CompressionName = (typeof COMPRESSIONS)[number]

export function parseAcks(raw: string, what: string): Acks {
  const v = raw.trim().toLowerCase()
  if (v === 'all' || v === '-1') return v === 'all' ? 'all' : -1
  if (v === '0') return 0
  if (v === '1') return 1
  throw new CliError(`${what} must be all, -1, 0 or 1, got '${raw}'`)
}

function compression(raw: string, what: string): CompressionName {
  const found = COMPRESSIONS.find((c) => c === raw.trim().toLowerCase())
  if (found === undefined) throw new CliError(`${what} must be one of ${COMPRESSIONS.join(', ')}, got '${raw}'`)
  return found
}

export interface ProducerFlags {
  readonly requestRequiredAcks?: string
  readonly compressionCodec?: string | boolean
  /** Kafka's --timeout: linger.ms of the console producer. */
  readonly timeout?: string
  readonly batchSize?: string
  readonly maxBlockMs?: string
  readonly requestTimeoutMs?: string
}

export function producerOptionsFrom(props: Properties, flags: ProducerFlags): ProducerOptions {
  const merged = new Map(props)
  if (flags.requestRequiredAcks !== undefined) merged.set('acks', flags.requestRequiredAcks)
  // Kafka: --compression-codec alone means gzip.
  if (flags.compressionCodec !== undefined) merged.set('compression.type', flags.compressionCodec === true ? 'gzip' : String(flags.compressionCodec))
  if (flags.timeout !== undefined) merged.set('linger.ms', flags.timeout)
  if (flags.batchSize !== undefined) merged.set('batch.size', flags.batchSize)
  if (flags.maxBlockMs !== undefined) merged.set('max.block.ms', flags.maxBlockMs)
  if (flags.requestTimeoutMs !== undefined) merged.set('request.timeout.ms', flags.requestTimeoutMs)
  const options: { -readonly [K in keyof ProducerOptions]: ProducerOptions[K] } = {}
  const acks = merged.get('acks')
  if (acks !== undefined) options.acks = parseAcks(acks, 'acks')
  const idempotence = merged.get('enable.idempotence')
  if (idempotence !== undefined) {
    const v = idempotence.trim().toLowerCase()
    if (v !== 'true' && v !== 'false') throw new CliError(`enable.idempotence must be true or false, got '${idempotence}'`)
    options.idempotent = v === 'true'
  }
  const ints = [
    ['linger.ms', 'lingerMs'],
    ['batch.size', 'batchBytes'],
    ['buffer.memory', 'bufferBytes'],
    ['max.block.ms', 'maxBlockMs'],
    ['max.in.flight.requests.per.connection', 'maxInFlight'],
    ['delivery.timeout.ms', 'deliveryTimeoutMs'],
    ['request.timeout.ms', 'requestTimeoutMs'],
  ] as const
  for (const [key, option] of ints) {
    const v = nonNegativeInt(merged, key)
    if (v !== undefined) options[option] = v
  }
  const codec = merged.get('compression.type')
  if (codec !== undefined) options.compression = compression(codec, 'compression.type')
  return options
}
