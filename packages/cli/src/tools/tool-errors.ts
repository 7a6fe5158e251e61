/** Small helpers to turn bad flags and the SDK's errors into the one line a Kafka tool prints. */
import { TributaryError } from '@tributary/client'
import type { ErrorCodeInfo } from '@tributary/protocol'
import { CliError, oneLine } from '../cli-error.js'

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

/**
 * grpc-js's connection details carry noise a reader does not need ("Last error: Error: ...",
 * an empty "Resolution note: "): dropped, wherever it sits in the one line.
 */
export function tidyMessage(text: string): string {
  return text
    .replace(/Last error: Error: /g, 'Last error: ')
    .replace(/\.?\s*Resolution note:\s*(?=\)|$)/g, '')
}

/** Runs a tool's work; any failure leaves as a CliError whose one line is tidied. */
export async function tidyErrors(work: Promise<void>): Promise<void> {
  try {
    await work
  } catch (err) {
    if (err instanceof CliError) throw new CliError(tidyMessage(err.message), err.exitCode)
    throw new CliError(tidyMessage(oneLine(err)))
  }
}
