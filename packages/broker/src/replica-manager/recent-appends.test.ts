import { describe, expect, it } from 'vitest'
import { RecentAppends, type LeaderRole } from './recent-appends.js'

function bytes(n: number, fill: number): Buffer {
  return Buffer.alloc(n, fill)
}

describe('RecentAppends', () => {
  it('answers a fetch at an entry start with the contiguous entries after it, up to maxBytes', () => {
    const p: LeaderRole = { isLeader: true, leaderEpoch: 3 }
    const recent = new RecentAppends()
    recent.add(p, 3, 0n, 9n, bytes(100, 1))
    recent.add(p, 3, 10n, 14n, bytes(50, 2))
    recent.add(p, 3, 15n, 15n, bytes(30, 3))
    expect(recent.read(p, 10n, 1000, true)).toEqual(Buffer.concat([bytes(50, 2), bytes(30, 3)]))
    expect(recent.read(p, 0n, 160, true)).toEqual(Buffer.concat([bytes(100, 1), bytes(50, 2)]))
    // Not an entry start, or past the end: the log answers.
    expect(recent.read(p, 12n, 1000, true)).toBeNull()
    expect(recent.read(p, 16n, 1000, true)).toBeNull()
    // The first entry beyond maxBytes only with minOneBatch (KIP-74).
    expect(recent.read(p, 0n, 10, true)).toEqual(bytes(100, 1))
    expect(recent.read(p, 0n, 10, false)).toBeNull()
  })

  it('serves nothing once the partition leads in another epoch or not at all', () => {
    const p = { isLeader: true, leaderEpoch: 3 }
    const recent = new RecentAppends()
    recent.add(p, 3, 0n, 9n, bytes(100, 1))
    p.leaderEpoch = 4
    expect(recent.read(p, 0n, 1000, true)).toBeNull()
    p.leaderEpoch = 3
    p.isLeader = false
    expect(recent.read(p, 0n, 1000, true)).toBeNull()
  })

  it('starts over when an append does not continue the last one or comes in a new epoch', () => {
    const p = { isLeader: true, leaderEpoch: 3 }
    const recent = new RecentAppends()
    recent.add(p, 3, 0n, 9n, bytes(100, 1))
    recent.add(p, 3, 20n, 29n, bytes(100, 2))
    expect(recent.read(p, 0n, 1000, true)).toBeNull()
    expect(recent.read(p, 20n, 1000, true)).toEqual(bytes(100, 2))
    p.leaderEpoch = 5
    recent.add(p, 5, 30n, 39n, bytes(100, 3))
    expect(recent.read(p, 20n, 1000, true)).toBeNull()
    expect(recent.read(p, 30n, 1000, true)).toEqual(bytes(100, 3))
    expect(recent.heldBytes).toBe(100)
  })

  it('keeps within its bounds, dropping the oldest entries first', () => {
    const a = { isLeader: true, leaderEpoch: 1 }
    const b = { isLeader: true, leaderEpoch: 1 }
    const recent = new RecentAppends(250, 400, 10)
    for (let i = 0n; i < 5n; i++) recent.add(a, 1, i * 10n, i * 10n + 9n, bytes(100, Number(i)))
    expect(recent.heldBytes).toBe(200)
    expect(recent.read(a, 20n, 1000, true)).toBeNull()
    expect(recent.read(a, 30n, 1000, true)).toEqual(Buffer.concat([bytes(100, 3), bytes(100, 4)]))
    recent.add(b, 1, 0n, 9n, bytes(100, 7))
    recent.add(b, 1, 10n, 19n, bytes(100, 8))
    recent.add(b, 1, 20n, 29n, bytes(100, 9))
    expect(recent.heldBytes).toBeLessThanOrEqual(400)
    recent.drop(b)
    expect(recent.read(b, 20n, 1000, true)).toBeNull()
    expect(recent.heldBytes).toBeLessThanOrEqual(200)
    const small = new RecentAppends(10_000, 10_000, 2)
    for (let i = 0n; i < 5n; i++) small.add(a, 1, i, i, bytes(10, 1))
    expect(small.heldBytes).toBe(20)
  })
})

describe('RecentAppends memory', () => {
  it('keeps a copy of records that are a small part of a larger message, and the records themselves otherwise', () => {
    const p = { isLeader: true, leaderEpoch: 1 }
    const recent = new RecentAppends()
    const message = Buffer.alloc(1 << 20, 9)
    const small = message.subarray(100, 1100)
    recent.add(p, 1, 0n, 9n, small)
    const kept = recent.read(p, 0n, 1 << 20, true)!
    expect(kept).toEqual(small)
    expect(kept.buffer).not.toBe(message.buffer)
    const whole = Buffer.alloc(1 << 20, 5)
    const most = whole.subarray(10)
    recent.add(p, 1, 10n, 19n, most)
    expect(recent.read(p, 10n, 1 << 21, true)!.buffer).toBe(whole.buffer)
  })
})
