/**
 * The one retry helper. An operation is retried while every error is retriable and the
 * next attempt can start before the deadline; between attempts it waits an exponential
 * backoff with jitter (KIP-580: retry.backoff.ms doubling up to retry.backoff.max.ms, each
 * wait scaled by a random factor in [1 - jitter, 1 + jitter], Kafka's jitter being 0.2).
 * Before waiting, `onRetriable` runs (the client refreshes metadata there when the error
 * asks for it, as kafkajs does). A non-retriable error ends the loop at once: thrown as it
 * is on the first attempt, else as RetriesExhaustedError carrying every attempt's error.
 *
 * Time comes from a Clock so tests drive it with fake timers.
 */
import { asTributaryError, RetriesExhaustedError, type TributaryError } from './errors.js'

export interface BackoffOptions {
  readonly initialMs: number
  readonly maxMs: number
  /** 0..1: each wait is scaled by a factor drawn from [1 - jitter, 1 + jitter]. */
  readonly jitter: number
}

export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

/** The wait before retry number `attempt` (0 = the first retry). Pure. */
export function backoffMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const exp = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30))
  const factor = 1 - options.jitter + random() * 2 * options.jitter
  return Math.max(0, Math.round(exp * factor))
}

export interface RetryOptions {
  /** Clock time (clock.now()) after which no new attempt starts. */
  readonly deadlineMs: number
  readonly backoff: BackoffOptions
  /** Names the operation in the exhausted error. */
  readonly what: string
  readonly clock?: Clock
  readonly random?: () => number
  /** Runs after a retriable error, before the wait (e.g. refresh metadata). Its failures are ignored. */
  readonly onRetriable?: (error: TributaryError, attempt: number) => Promise<void> | void
  /** Stops retrying (the client closes): the last error is thrown as exhausted. */
  readonly signal?: AbortSignal
}

export async function retry<T>(op: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock
  const random = options.random ?? Math.random
  const errors: TributaryError[] = []
  for (let attempt = 0; ; attempt++) {
    try {
      return await op(attempt)
    } catch (err) {
      const error = asTributaryError(err)
      errors.push(error)
      if (!error.retriable) {
        if (errors.length === 1) throw error
        throw new RetriesExhaustedError(`${options.what} failed with a non-retriable error`, errors)
      }
      if (options.signal?.aborted === true) throw new RetriesExhaustedError(`${options.what} stopped (closing)`, errors)
      const waitMs = backoffMs(attempt, options.backoff, random)
      if (clock.now() + waitMs >= options.deadlineMs) throw new RetriesExhaustedError(`${options.what} timed out`, errors)
      try {
        await options.onRetriable?.(error, attempt)
      } catch {
        // A failed refresh is retried with the next attempt.
      }
      await clock.sleep(waitMs)
    }
  }
}
