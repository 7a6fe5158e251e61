/**
 * Waits `ms`, or less when `signal` aborts first (a close, or a member's wake-up, must not wait
 * out a backoff). Resolves in both cases, never rejects.
 */
export function sleepUntilAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}
