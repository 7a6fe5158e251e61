/**
 * The console producer's line reader (Kafka's LineMessageReader), pure: one input line to one
 * record. With parse.key the text before the first key.separator is the key. A line without
 * the separator is sent as a value WITHOUT a key and named in a warning: the seed's own
 * example (`--property parse.key=true --property key.separator=:` on a file holding
 * "kafka message") promises the line reaches the topic, where Kafka would stop with "No key
 * separator found". With ignore.error=true the warning is left out, as Kafka skips its error.
 */
import { CliError } from '../cli-error.js'
import { unknownKeys, type Properties } from './client-properties.js'

export interface LineReaderConfig {
  readonly parseKey: boolean
  /** Kafka's default is a TAB. */
  readonly keySeparator: string
  readonly ignoreError: boolean
  /** A key or value equal to this is sent as null (Kafka's null.marker). */
  readonly nullMarker: string | null
  /** `--property file=F`: read F instead of stdin (Tributary's; the seed uses it). */
  readonly file: string | null
}

export const LINE_READER_KEYS = ['parse.key', 'key.separator', 'ignore.error', 'null.marker', 'file'] as const

function bool(props: Properties, key: string): boolean {
  const raw = props.get(key)
  if (raw === undefined) return false
  const v = raw.trim().toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  throw new CliError(`--property ${key} must be true or false, got '${raw}'`)
}

/** The --property values as the reader's config; `warnings` gets one line per unknown key. */
export function lineReaderConfig(props: Properties, warnings: string[]): LineReaderConfig {
  for (const key of unknownKeys(props, LINE_READER_KEYS)) warnings.push(`WARN --property '${key}' is not used by the console producer (known: ${LINE_READER_KEYS.join(', ')})`)
  const keySeparator = props.get('key.separator') ?? '\t'
  if (keySeparator === '') throw new CliError('--property key.separator must not be empty')
  const file = props.get('file') ?? null
  if (file === '') throw new CliError('--property file needs a path')
  return { parseKey: bool(props, 'parse.key'), keySeparator, ignoreError: bool(props, 'ignore.error'), nullMarker: props.get('null.marker') ?? null, file }
}

export interface ParsedLine {
  readonly key: string | null
  readonly value: string | null
  /** Set when parse.key is on and the line has no separator. */
  readonly warning: string | null
}

export function parseLine(text: string, lineNumber: number, config: LineReaderConfig): ParsedLine {
  const nulled = (s: string): string | null => (config.nullMarker !== null && s === config.nullMarker ? null : s)
  if (!config.parseKey) return { key: null, value: nulled(text), warning: null }
  const at = text.indexOf(config.keySeparator)
  if (at < 0) {
    const warning = config.ignoreError ? null : `WARN No key separator '${config.keySeparator}' found on line number ${lineNumber}: '${text}' (sent without a key)`
    return { key: null, value: nulled(text), warning }
  }
  return { key: nulled(text.slice(0, at)), value: nulled(text.slice(at + config.keySeparator.length)), warning: null }
}
