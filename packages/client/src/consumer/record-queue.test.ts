import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RecordQueue } from './record-queue.js'

describe('RecordQueue', () => {
  it('behaves as an array used as a FIFO (push, shift, filter, clear)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), n: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ kind: fc.constant('shift' as const), n: fc.integer({ min: 1, max: 6000 }) }),
      fc.record({ kind: fc.constant('retain' as const), n: fc.integer({ min: 2, max: 5 }) }),
      fc.record({ kind: fc.constant('clear' as const), n: fc.constant(0) }),
      fc.record({ kind: fc.constant('truncate' as const), n: fc.integer({ min: 0, max: 3000 }) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const queue = new RecordQueue<number>()
        let model: number[] = []
        let next = 0
        for (const { kind, n } of ops) {
          if (kind === 'push') for (let i = 0; i < n; i++) {
            queue.push(next)
            model.push(next++)
          }
          if (kind === 'shift') for (let i = 0; i < n; i++) expect(queue.shift()).toBe(model.shift())
          if (kind === 'retain') {
            queue.retain((x) => x % n !== 0)
            model = model.filter((x) => x % n !== 0)
          }
          if (kind === 'clear') {
            queue.clear()
            model = []
          }
          if (kind === 'truncate') {
            const length = Math.min(n, model.length)
            queue.truncate(length)
            model = model.slice(0, length)
            expect(() => queue.truncate(length + 1)).toThrow(RangeError)
          }
          expect(queue.length).toBe(model.length)
        }
        const rest: number[] = []
        for (let x = queue.shift(); x !== undefined; x = queue.shift()) rest.push(x)
        expect(rest).toEqual(model)
      }),
      { numRuns: 30 },
    )
  })
})
