/**
 * Producer options, named after the Java producer's settings (acks, enable.idempotence,
 * linger.ms, batch.size, buffer.memory, max.in.flight.requests.per.connection,
 * compression.type, delivery.timeout.ms, request.timeout.ms, max.block.ms).
 */
import type { Compression } from '@tributary/protocol'

export type Acks = 'all' | -1 | 0 | 1

export interface ProducerOptions {
  /** 'all' (default): the ISR has the batch; 1: the leader appended it; 0: no answer awaited. */
  readonly acks?: Acks
  /**
   * Idempotence (KIP-98): a producer id from the cluster and a sequence per partition, so
   * retries never duplicate. On by default with acks 'all'; with acks 0 or 1 it is off
   * unless asked for, and asking for it then is an error (as the Java client).
   */
  readonly idempotent?: boolean
  /** How long a batch waits for more records before it is sent (linger.ms). */
  readonly lingerMs?: number
  /** A batch is sent once its records reach this size (batch.size). */
  readonly batchBytes?: number
  /** Records waiting to be acknowledged take at most this much memory; send() waits beyond (buffer.memory). */
  readonly bufferBytes?: number
  /** How long send() may wait for buffer space or a topic's metadata (max.block.ms). */
  readonly maxBlockMs?: number
  /** Produce requests per partition awaiting an answer (at most 5 with idempotence, as Kafka). */
  readonly maxInFlight?: number
  readonly compression?: Compression
  /** A record not acknowledged this long after send() fails, retries included (delivery.timeout.ms, KIP-91). */
  readonly deliveryTimeoutMs?: number
  /** ProduceRequest.timeout_ms: how long the leader may wait for the ISR with acks 'all'. */
  readonly requestTimeoutMs?: number
}

export const PRODUCER_DEFAULTS = {
  acks: 'all',
  lingerMs: 5,
  batchBytes: 16_384,
  bufferBytes: 32 * 1024 * 1024,
  maxBlockMs: 60_000,
  maxInFlight: 5,
  compression: 'none',
  deliveryTimeoutMs: 120_000,
  requestTimeoutMs: 30_000,
  /** How long close() waits for unacknowledged records before failing them. */
  closeTimeoutMs: 30_000,
} as const

/** Kafka refuses idempotence with more than 5 requests in flight per partition (the broker keeps 5 batches' metadata). */
export const IDEMPOTENT_IN_FLIGHT_MAX = 5

export interface ResolvedProducerOptions {
  readonly acks: -1 | 0 | 1
  readonly idempotent: boolean
  readonly lingerMs: number
  readonly batchBytes: number
  readonly bufferBytes: number
  readonly maxBlockMs: number
  readonly maxInFlight: number
  readonly compression: Compression
  readonly deliveryTimeoutMs: number
  readonly requestTimeoutMs: number
}

export function resolveProducerOptions(options: ProducerOptions): ResolvedProducerOptions {
  const acksOption = options.acks ?? PRODUCER_DEFAULTS.acks
  const acks = acksOption === 'all' ? -1 : acksOption
  if (acks !== -1 && acks !== 0 && acks !== 1) throw new RangeError(`acks must be 'all', -1, 0 or 1, got ${String(acksOption)}`)
  if (options.idempotent === true && acks !== -1) throw new RangeError("an idempotent producer needs acks 'all' (set idempotent: false for acks 0 or 1)")
  const idempotent = options.idempotent ?? acks === -1
  const resolved: ResolvedProducerOptions = {
    acks,
    idempotent,
    lingerMs: options.lingerMs ?? PRODUCER_DEFAULTS.lingerMs,
    batchBytes: options.batchBytes ?? PRODUCER_DEFAULTS.batchBytes,
    bufferBytes: options.bufferBytes ?? PRODUCER_DEFAULTS.bufferBytes,
    maxBlockMs: options.maxBlockMs ?? PRODUCER_DEFAULTS.maxBlockMs,
    maxInFlight: options.maxInFlight ?? PRODUCER_DEFAULTS.maxInFlight,
    compression: options.compression ?? PRODUCER_DEFAULTS.compression,
    deliveryTimeoutMs: options.deliveryTimeoutMs ?? PRODUCER_DEFAULTS.deliveryTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? PRODUCER_DEFAULTS.requestTimeoutMs,
  }
  for (const key of ['lingerMs', 'maxBlockMs', 'deliveryTimeoutMs', 'requestTimeoutMs'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] < 0) throw new RangeError(`${key} must be a non-negative number, got ${resolved[key]}`)
  }
  for (const key of ['batchBytes', 'bufferBytes', 'maxInFlight'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) throw new RangeError(`${key} must be a positive integer, got ${resolved[key]}`)
  }
  if (resolved.idempotent && resolved.maxInFlight > IDEMPOTENT_IN_FLIGHT_MAX) {
    throw new RangeError(`an idempotent producer allows at most ${IDEMPOTENT_IN_FLIGHT_MAX} requests in flight per partition, got ${resolved.maxInFlight}`)
  }
  if (!['none', 'gzip', 'snappy', 'lz4', 'zstd'].includes(resolved.compression)) throw new RangeError(`unknown compression '${resolved.compression}'`)
  return resolved
}
