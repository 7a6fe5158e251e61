import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ErrorCode, TributaryError } from '@tributary/protocol'
import { RetriesExhaustedError } from './errors.js'
import { backoffMs, retry } from './retry.js'

const backoff = { initialMs: 100, maxMs: 1000, jitter: 0.2 }

describe('backoffMs (KIP-580)', () => {
  it('doubles from the initial wait up to the max', () => {
    const mid = () => 0.5
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffMs(a, backoff, mid))).toEqual([100, 200, 400, 800, 1000, 1000])
  })

  it('jitters within +-20%', () => {
    expect(backoffMs(1, backoff, () => 0)).toBe(160)
    expect(backoffMs(1, backoff, () => 0.999999)).toBe(240)
    expect(backoffMs(40, backoff, () => 0)).toBe(800)
  })
})

describe('retry (fake time)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(0)
  })
  afterEach(() => vi.useRealTimers())

  it('retries retriable errors with growing waits, refreshing in between, until success', async () => {
    const startedAt: number[] = []
    const refreshed: string[] = []
    const result = retry(async (attempt) => {
      startedAt.push(Date.now())
      if (attempt < 3) throw new TributaryError(ErrorCode.NOT_LEADER_OR_FOLLOWER)
      return 'ok'
    }, { deadlineMs: 10_000, backoff, what: 'produce', random: () => 0.5, onRetriable: (e) => void refreshed.push(e.errorName) })
    await vi.runAllTimersAsync()
    await expect(result).resolves.toBe('ok')
    expect(startedAt).toEqual([0, 100, 300, 700])
    expect(refreshed).toEqual(['NOT_LEADER_OR_FOLLOWER', 'NOT_LEADER_OR_FOLLOWER', 'NOT_LEADER_OR_FOLLOWER'])
  })

  it('gives up at the deadline with the history of attempts', async () => {
    let calls = 0
    const result = retry(async () => {
      calls++
      throw new TributaryError(ErrorCode.NOT_ENOUGH_REPLICAS)
    }, { deadlineMs: 1000, backoff, what: 'produce to t-0', random: () => 0.5 })
    const caught = result.catch((e: unknown) => e)
    await vi.runAllTimersAsync()
    const error = await caught
    expect(error).toBeInstanceOf(RetriesExhaustedError)
    const exhausted = error as RetriesExhaustedError
    // Attempts at 0, 100, 300, 700; the next wait (800) would pass 1000.
    expect(calls).toBe(4)
    expect(exhausted.errors).toHaveLength(4)
    expect(exhausted.code).toBe(ErrorCode.NOT_ENOUGH_REPLICAS.code)
    expect(exhausted.retriable).toBe(true)
    expect(exhausted.message).toMatch(/produce to t-0 timed out after 4 attempt/)
  })

  it('throws a non-retriable first error as it is, and a later one with the history', async () => {
    await expect(retry(async () => {
      throw new TributaryError(ErrorCode.INVALID_REQUEST)
    }, { deadlineMs: 1000, backoff, what: 'x' })).rejects.toMatchObject({ name: 'TributaryError', code: ErrorCode.INVALID_REQUEST.code })

    let calls = 0
    const result = retry(async () => {
      calls++
      throw new TributaryError(calls === 1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.TOPIC_ALREADY_EXISTS)
    }, { deadlineMs: 10_000, backoff, what: 'y', random: () => 0.5 })
    const caught = result.catch((e: unknown) => e)
    await vi.runAllTimersAsync()
    const error = (await caught) as RetriesExhaustedError
    expect(error).toBeInstanceOf(RetriesExhaustedError)
    expect(error.errors.map((e) => e.errorName)).toEqual(['LEADER_NOT_AVAILABLE', 'TOPIC_ALREADY_EXISTS'])
    expect(error.retriable).toBe(false)
  })

  it('wraps a plain thrown Error as a non-retriable TributaryError', async () => {
    await expect(retry(async () => {
      throw new Error('boom')
    }, { deadlineMs: 1000, backoff, what: 'z' })).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_SERVER_ERROR.code, message: 'boom', retriable: false })
  })
})
