/**
 * Kafka client properties (`--command-config FILE`, `--producer-property k=v`,
 * `--consumer-property k=v`, `--property k=v`) turned into SDK options through the one table in
 * kafka-properties.ts. Pure: the caller reads the files. Every key a tool does not use is
 * reported back so it can warn as Kafka does ("The configuration 'x' was supplied but isn't a
 * known config.").
 */
import type { ClientOptions } from '@tributary/client'
import { parseProperties } from '../server/properties-file.js'
import { applyProperty, emptyOptions, parsePropItems, propertyKeys, type KafkaOptions, type PropertyScope } from './kafka-properties.js'

export type Properties = ReadonlyMap<string, string>

/** `k=v` flags collected by commander, in order (a later one wins, as java.util.Properties). */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value]
}

/** `['a=1', 'b=2']` as a map; `flag` names the option in the error. */
export function parsePairs(pairs: readonly string[], flag: string): Map<string, string> {
  return new Map(parsePropItems(pairs, flag).map((e) => [e.key, e.value]))
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

/** The client-wide keys every tool honours, by Kafka name. */
export const CLIENT_PROPERTY_KEYS: readonly string[] = propertyKeys('client')

/** Every known key of `scope` in `props` applied; unknown keys are left to the caller's policy. */
export function kafkaOptionsFrom(props: Properties, scope: PropertyScope): KafkaOptions {
  const options = emptyOptions()
  for (const [k, v] of props) applyProperty(options, scope, k, v)
  return options
}

/** The client options the properties set (bootstrap.servers is the caller's: flags win over it). */
export function clientOptionsFrom(props: Properties): Omit<ClientOptions, 'bootstrap'> {
  const { bootstrap: _bootstrap, ...client } = kafkaOptionsFrom(props, 'client').client
  return client
}

/** Keys of `props` outside `known`: each gets Kafka's warning line. */
export function unknownKeys(props: Properties, known: readonly string[]): string[] {
  return [...props.keys()].filter((k) => !known.includes(k))
}

export function unknownKeyWarning(key: string): string {
  return `WARN The configuration '${key}' was supplied but isn't a known config.`
}
