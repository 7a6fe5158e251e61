/**
 * SimClock: the simulator's discrete-event loop on simulated time.
 *
 * Owns a binary min-heap of pending events ordered by (atMs, sequence). The sequence number
 * is the scheduling order, so two events due at the same millisecond always run in the
 * order they were scheduled: a run depends only on the seed, never on heap layout or on the
 * host. Time only moves forward: `nowMs` is the due time of the event being run, and an
 * event may not be scheduled in the past.
 *
 * Events are plain closures. Cancellation is the caller's business (the simulator tags
 * closures with a node incarnation and ignores stale ones), which keeps the heap simple.
 */
import { assert } from '../util/assert.js'

interface SimEvent {
  readonly atMs: number
  readonly sequence: number
  readonly run: () => void
}

export class SimClock {
  private heap: SimEvent[] = []
  private nextSequence = 0
  private currentMs = 0
  private eventsRunCount = 0

  get nowMs(): number {
    return this.currentMs
  }

  /** How many events have run so far (a cheap progress and cost measure). */
  get eventsRun(): number {
    return this.eventsRunCount
  }

  get pending(): number {
    return this.heap.length
  }

  /** Runs `run` at `atMs` (>= now). Ties run in scheduling order. */
  scheduleAt(atMs: number, run: () => void): void {
    assert(atMs >= this.currentMs, 'an event cannot be scheduled in the past')
    assert(Number.isFinite(atMs), 'event time must be finite')
    const event: SimEvent = { atMs, sequence: this.nextSequence++, run }
    const heap = this.heap
    heap.push(event)
    // sift up
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(event, heap[parent])) break
      heap[i] = heap[parent]
      i = parent
    }
    heap[i] = event
  }

  scheduleAfter(delayMs: number, run: () => void): void {
    assert(delayMs >= 0, 'delay must not be negative')
    this.scheduleAt(this.currentMs + delayMs, run)
  }

  /** Due time of the next event, or null if none is pending. */
  peekMs(): number | null {
    return this.heap.length === 0 ? null : this.heap[0].atMs
  }

  /**
   * Runs the next event if it is due at or before `untilMs`. Returns false (and leaves time
   * at `untilMs`) when there is none.
   */
  step(untilMs: number): boolean {
    const heap = this.heap
    if (heap.length === 0 || heap[0].atMs > untilMs) {
      if (untilMs > this.currentMs) this.currentMs = untilMs
      return false
    }
    const top = heap[0]
    const last = heap.pop() as SimEvent
    if (heap.length > 0) {
      // sift down
      let i = 0
      const n = heap.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && before(heap[r], heap[l]) ? r : l
        if (!before(heap[c], last)) break
        heap[i] = heap[c]
        i = c
      }
      heap[i] = last
    }
    this.currentMs = top.atMs
    this.eventsRunCount++
    top.run()
    return true
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.sequence < b.sequence)
}
