/**
 * Kafka producer properties (`--producer-property k=v`, `--producer.config FILE`) and the
 * console producer's dedicated flags, as the SDK's ProducerOptions. Pure. Dedicated flags win
 * over properties (Kafka's ConsoleProducer merges a flag only when it is given).
 */
import type { ProducerOptions } from '@tributary/client'
import { kafkaOptionsFrom, type Properties } from './client-properties.js'
import { propertyKeys } from './kafka-properties.js'

/** Client and producer keys (the table in kafka-properties.ts). */
export const PRODUCER_PROPERTY_KEYS: readonly string[] = propertyKeys('producer')

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
  return kafkaOptionsFrom(merged, 'producer').producer
}
