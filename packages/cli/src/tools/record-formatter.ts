/**
 * The console consumer's output line per record (Kafka's DefaultMessageFormatter), pure:
 * [CreateTime:ts] [Partition:p] [Offset:o] [headers] [key] [value], the columns joined by
 * key.separator (TAB by default), then line.separator. Null keys and values print as `null`.
 */
import type { ConsumerRecord } from '@tributary/client'
import { CliError } from '../cli-error.js'
import { unknownKeys, type Properties } from './client-properties.js'

export interface FormatterConfig {
  readonly printTimestamp: boolean
  readonly printPartition: boolean
  readonly printOffset: boolean
  readonly printHeaders: boolean
  readonly printKey: boolean
  readonly printValue: boolean
  readonly keySeparator: string
  readonly lineSeparator: string
  readonly headersSeparator: string
  readonly nullLiteral: string
}

export const FORMATTER_KEYS = [
  'print.timestamp',
  'print.partition',
  'print.offset',
  'print.headers',
  'print.key',
  'print.value',
  'key.separator',
  'line.separator',
  'headers.separator',
  'null.literal',
] as const

function bool(props: Properties, key: string, fallback: boolean): boolean {
  const raw = props.get(key)
  if (raw === undefined) return fallback
  const v = raw.trim().toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  throw new CliError(`--property ${key} must be true or false, got '${raw}'`)
}

/** Kafka's separators arrive with escapes typed on a shell (`\t`, `\n`): unescape them. */
function unescapeSeparator(s: string): string {
  return s.replace(/\\t/g, '\t').replace(/\\n/g, '\n').replace(/\\r/g, '\r')
}

export function formatterConfig(props: Properties, warnings: string[]): FormatterConfig {
  for (const key of unknownKeys(props, FORMATTER_KEYS)) warnings.push(`WARN --property '${key}' is not used by the console consumer (known: ${FORMATTER_KEYS.join(', ')})`)
  return {
    printTimestamp: bool(props, 'print.timestamp', false),
    printPartition: bool(props, 'print.partition', false),
    printOffset: bool(props, 'print.offset', false),
    printHeaders: bool(props, 'print.headers', false),
    printKey: bool(props, 'print.key', false),
    printValue: bool(props, 'print.value', true),
    keySeparator: unescapeSeparator(props.get('key.separator') ?? '\t'),
    lineSeparator: unescapeSeparator(props.get('line.separator') ?? '\n'),
    headersSeparator: props.get('headers.separator') ?? ',',
    nullLiteral: props.get('null.literal') ?? 'null',
  }
}

export function formatRecord(r: ConsumerRecord, c: FormatterConfig): string {
  const text = (b: Buffer | null): string => (b === null ? c.nullLiteral : b.toString('utf8'))
  const columns: string[] = []
  if (c.printTimestamp) columns.push(r.timestamp >= 0n ? `CreateTime:${r.timestamp}` : 'NO_TIMESTAMP')
  if (c.printPartition) columns.push(`Partition:${r.partition}`)
  if (c.printOffset) columns.push(`Offset:${r.offset}`)
  if (c.printHeaders) columns.push(r.headers.length === 0 ? 'NO_HEADERS' : r.headers.map((h) => `${h.key}:${text(h.value)}`).join(c.headersSeparator))
  if (c.printKey) columns.push(text(r.key))
  if (c.printValue) columns.push(text(r.value))
  return columns.join(c.keySeparator) + c.lineSeparator
}
