/** Small helpers to turn bad flags and the SDK's errors into the one line a Kafka tool prints. */
import { TributaryError } from '@tributary/client'
import type { ErrorCodeInfo } from '@tributary/protocol'
import { CliError } from '../cli-error.js'

/** True when `err` carries Kafka error `code` (for exhausted retries: the last attempt's). */
export function hasCode(err: unknown, code: ErrorCodeInfo): boolean {
  return err instanceof TributaryError && err.code === code.code
}

/** An integer flag value >= `min`, else a CliError naming the flag. */
export function intFlag(raw: string, flag: string, min = 1): number {
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isInteger(n) || n < min) throw new CliError(`${flag} must be an integer >= ${min}, got '${raw}'`)
  return n
}
