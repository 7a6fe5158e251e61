/**
 * Flag values of the perf tools: integers with a lower bound, and the bootstrap list. A bad
 * value is a CliError naming the flag (one line, exit 1), never NaN flowing into a run.
 */
import { CliError } from '../cli-error.js'
import { DEFAULT_BOOTSTRAP_SERVERS } from '../cluster/cluster-defaults.js'
import { parseAddressList } from '../metadata-quorum/metadata-quorum-command.js'

export function intFlag(flag: string, raw: string | undefined, min: number, fallback?: number): number {
  if (raw === undefined) {
    if (fallback === undefined) throw new CliError(`${flag} is required`)
    return fallback
  }
  const n = Number(raw.trim())
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) throw new CliError(`${flag}: '${raw}' is not an integer >= ${min}`)
  return n
}

/** --throughput: -1 (or any negative, as Kafka) is unthrottled; 0 would never send. */
export function throughputFlag(raw: string | undefined, fallback?: number): number {
  const n = intFlag('--throughput', raw, Number.MIN_SAFE_INTEGER, fallback)
  if (n === 0) throw new CliError('--throughput: 0 would never send; use -1 for unthrottled')
  return n < 0 ? -1 : n
}

export function bootstrapFlag(raw: string | undefined): string[] {
  return raw === undefined ? [...DEFAULT_BOOTSTRAP_SERVERS] : parseAddressList(raw, '--bootstrap-server')
}
