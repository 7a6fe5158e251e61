/**
 * WarningThrottle: lets one warning of a kind through per interval and counts the ones it
 * held back, so a flood of refused calls costs one log line per second, not one per call.
 */
export type ThrottleVerdict = { readonly log: true; readonly suppressed: number } | { readonly log: false }

export class WarningThrottle {
  private lastLoggedMs = -Infinity
  private suppressed = 0

  constructor(
    private readonly intervalMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Whether to log this occurrence; `suppressed` counts those skipped since the last one logged. */
  next(): ThrottleVerdict {
    const now = this.nowMs()
    if (now - this.lastLoggedMs < this.intervalMs) {
      this.suppressed++
      return { log: false }
    }
    const suppressed = this.suppressed
    this.lastLoggedMs = now
    this.suppressed = 0
    return { log: true, suppressed }
  }
}
