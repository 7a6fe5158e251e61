/**
 * The Client's options and their defaults, named after the Java client's settings where
 * one exists (request.timeout.ms, metadata.max.age.ms, retry.backoff.ms, ...).
 */
export interface ClientOptions {
  /** host:port of one or more brokers; the rest of the cluster is learned from Metadata. */
  readonly bootstrap: readonly string[]
  /** Sent as the gRPC user agent, so broker logs can tell clients apart. */
  readonly clientId?: string
  /** Deadline of one call to a broker (Kafka's request.timeout.ms). */
  readonly requestTimeoutMs?: number
  /** Cached metadata older than this is refreshed before use (metadata.max.age.ms). */
  readonly metadataMaxAgeMs?: number
  /** The first retry's wait; doubles per retry (retry.backoff.ms, KIP-580). */
  readonly retryBackoffMs?: number
  /** The longest wait between retries (retry.backoff.max.ms). */
  readonly retryBackoffMaxMs?: number
  /** How long an admin call (or a metadata wait) may retry before it fails. */
  readonly adminTimeoutMs?: number
}

export const CLIENT_DEFAULTS = {
  clientId: 'tributary-client',
  requestTimeoutMs: 30_000,
  metadataMaxAgeMs: 300_000,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1000,
  adminTimeoutMs: 30_000,
  /** Kafka's CommonClientConfigs.RETRY_BACKOFF_JITTER. */
  retryBackoffJitter: 0.2,
} as const

export type ResolvedClientOptions = Required<ClientOptions>

export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (!Array.isArray(options.bootstrap) || options.bootstrap.length === 0) throw new TypeError('Client needs bootstrap: at least one host:port')
  for (const address of options.bootstrap) {
    if (typeof address !== 'string' || !/^.+:\d+$/.test(address)) throw new TypeError(`bootstrap address '${String(address)}' is not host:port`)
  }
  const resolved: ResolvedClientOptions = {
    bootstrap: [...options.bootstrap],
    clientId: options.clientId ?? CLIENT_DEFAULTS.clientId,
    requestTimeoutMs: options.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs,
    metadataMaxAgeMs: options.metadataMaxAgeMs ?? CLIENT_DEFAULTS.metadataMaxAgeMs,
    retryBackoffMs: options.retryBackoffMs ?? CLIENT_DEFAULTS.retryBackoffMs,
    retryBackoffMaxMs: options.retryBackoffMaxMs ?? CLIENT_DEFAULTS.retryBackoffMaxMs,
    adminTimeoutMs: options.adminTimeoutMs ?? CLIENT_DEFAULTS.adminTimeoutMs,
  }
  for (const key of ['requestTimeoutMs', 'metadataMaxAgeMs', 'retryBackoffMs', 'retryBackoffMaxMs', 'adminTimeoutMs'] as const) {
    const v = resolved[key]
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${key} must be a non-negative number, got ${v}`)
  }
  if (resolved.retryBackoffMaxMs < resolved.retryBackoffMs) throw new RangeError('retryBackoffMaxMs must be >= retryBackoffMs')
  return resolved
}
