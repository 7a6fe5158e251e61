/**
 * Kafka client properties (`--command-config FILE`, `--producer-property k=v`,
 * `--consumer-property k=v`, `--property k=v`) turned into SDK options. Pure: the caller
 * reads the files. Every key a tool does not use is reported back so it can warn as Kafka does
 * ("The configuration 'x' was supplied but isn't a known config.").
 */
import type { ClientOptions } from '@tributary/client'
import { CliError } from '../cli-error.js'
import { parseProperties } from '../server/properties-file.js'

export type Properties = ReadonlyMap<string, string>

/** `k=v` flags collected by commander, in order (a later one wins, as java.util.Properties). */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value]
}

/** `['a=1', 'b=2']` as a map; `flag` names the option in the error. */
export function parsePairs(pairs: readonly string[], flag: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new CliError(`${flag} '${pair}' is not key=value`)
    out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1))
  }
  return out
}

/** A properties file's text as a map (later keys win). */
export function propertiesFromText(text: string): Map<string, string> {
  return new Map(parseProperties(text).map((e) => [e.key, e.value]))
}

/** Merges maps: later maps win. */
export function mergeProperties(...maps: readonly Properties[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of maps) for (const [k, v] of m) out.set(k, v)
  return out
}

export function nonNegativeInt(props: Properties, key: string): number | undefined {
  const raw = props.get(key)
  if (raw === undefined) return undefined
  const n = Number(raw.trim())
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0) throw new CliError(`Invalid value ${raw} for configuration ${key}: not a non-negative integer`)
  return n
}

/** The client-wide keys every tool honours, by Kafka name. */
export const CLIENT_PROPERTY_KEYS = ['bootstrap.servers', 'client.id', 'request.timeout.ms', 'default.api.timeout.ms', 'retry.backoff.ms', 'retry.backoff.max.ms', 'metadata.max.age.ms'] as const

/** The client options the properties set (bootstrap.servers is the caller's: flags win over it). */
export function clientOptionsFrom(props: Properties): Omit<ClientOptions, 'bootstrap'> {
  const options: { -readonly [K in keyof Omit<ClientOptions, 'bootstrap'>]: ClientOptions[K] } = {}
  const clientId = props.get('client.id')
  if (clientId !== undefined) options.clientId = clientId
  const pairs = [
    ['request.timeout.ms', 'requestTimeoutMs'],
    ['default.api.timeout.ms', 'adminTimeoutMs'],
    ['retry.backoff.ms', 'retryBackoffMs'],
    ['retry.backoff.max.ms', 'retryBackoffMaxMs'],
    ['metadata.max.age.ms', 'metadataMaxAgeMs'],
  ] as const
  for (const [key, option] of pairs) {
    const v = nonNegativeInt(props, key)
    if (v !== undefined) options[option] = v
  }
  return options
}

/** Keys of `props` outside `known`: each gets Kafka's warning line. */
export function unknownKeys(props: Properties, known: readonly string[]): string[] {
  return [...props.keys()].filter((k) => !known.includes(k))
}

export function unknownKeyWarning(key: string): string {
  return `WARN The configuration '${key}' was supplied but isn't a known config.`
}
