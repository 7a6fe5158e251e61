// Property: a leader driven by random appends, flushes, follower fetches, ticks, AlterPartition
// answers (committed, refused, lost before or after the controller applied them), metadata
// updates and re-elections never lets the high watermark pass a maximal-ISR member's
// acknowledged end, never moves it back, and always waits for every replica the controller
// has committed to the ISR (the condition for an acks=all record to survive any election).
import { silentLogger } from '@tributary/metadata-quorum'
import { ErrorCode, type NodeId } from '@tributary/protocol'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { AlterPartitionRequest } from './isr-state.js'
import { PartitionState, type Durability } from './partition-state.js'

const LOCAL = 1 as NodeId
const FOLLOWERS = [2, 3, 4] as NodeId[]
const REPLICAS = [LOCAL, ...FOLLOWERS]
const LAG_MS = 1_000

type Op =
  | { kind: 'append'; records: number }
  | { kind: 'flush'; fraction: number }
  | { kind: 'fetch'; replica: number; fraction: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'tick' }
  | { kind: 'send' }
  | { kind: 'answer'; fate: 'delivered' | 'lost_before' | 'lost_after' }
  | { kind: 'metadata' }
  | { kind: 'controller_shrink'; replica: number }
  | { kind: 'reelect' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), records: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('flush' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  { arbitrary: fc.record({ kind: fc.constant('fetch' as const), replica: fc.integer({ min: 0, max: 2 }), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }), weight: 4 },
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1_500 }) }),
  fc.constant({ kind: 'tick' as const }),
  fc.constant({ kind: 'send' as const }),
  // Sends the pending request if none is in flight, then answers: the common exchange.
  { arbitrary: fc.record({ kind: fc.constant('answer' as const), fate: fc.constantFrom('delivered' as const, 'lost_before' as const, 'lost_after' as const) }), weight: 3 },
  fc.constant({ kind: 'metadata' as const }),
  fc.record({ kind: fc.constant('controller_shrink' as const), replica: fc.integer({ min: 0, max: 2 }) }),
  fc.constant({ kind: 'reelect' as const }),
)

/** Between `from` and `to` by `fraction`. */
const between = (from: bigint, to: bigint, fraction: number): bigint => from + BigInt(Math.floor(Number(to - from) * fraction))

function run(durability: Durability, ops: readonly Op[]): { readonly state: PartitionState; readonly logEnd: bigint } {
  const s = new PartitionState({ config: { localReplicaId: LOCAL, replicaLagTimeMaxMs: LAG_MS, durability }, logger: silentLogger, highWatermark: 0n })
  // The controller's committed registration, which the leader learns late or never.
  const ctl = { leaderEpoch: 0, partitionEpoch: 0, isr: REPLICAS.slice() }
  let nowMs = 0
  let logEnd = 0n
  let durableEnd = 0n
  // A follower's durable end only grows (fsync mode: nothing it acknowledged is lost).
  const followerEnd = new Map<NodeId, bigint>(FOLLOWERS.map((id) => [id, 0n]))
  let inFlight: AlterPartitionRequest | null = null

  const elect = (): void => {
    ctl.leaderEpoch += 1
    ctl.partitionEpoch += 1
    const r = s.becomeLeader({ leaderEpoch: ctl.leaderEpoch, partitionEpoch: ctl.partitionEpoch, replicas: REPLICAS, isr: ctl.isr, logEndOffset: logEnd, durableEndOffset: durableEnd, nowMs })
    expect(r.kind).toBe('became_leader')
  }
  /** What the controller does with a request (Kafka's ReplicationControlManager checks). */
  const decide = (req: AlterPartitionRequest): 'applied' | number => {
    if (req.leaderEpoch !== ctl.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH.code
    if (req.partitionEpoch !== ctl.partitionEpoch) return ErrorCode.INVALID_UPDATE_VERSION.code
    ctl.isr = req.newIsr.slice()
    ctl.partitionEpoch += 1
    return 'applied'
  }

  elect()
  let previousHw = s.highWatermark
  for (const op of ops) {
    switch (op.kind) {
      case 'append':
        logEnd += BigInt(op.records)
        s.onLeaderLogAppend(logEnd)
        break
      case 'flush':
        durableEnd = between(durableEnd, logEnd, op.fraction)
        s.onLeaderFlushed(durableEnd)
        break
      case 'fetch': {
        const id = FOLLOWERS[op.replica]
        const end = between(followerEnd.get(id)!, logEnd, op.fraction)
        followerEnd.set(id, end)
        expect(s.onFollowerFetch({ replicaId: id, fetchOffset: end, nowMs }).kind).toBe('ok')
        break
      }
      case 'advance':
        nowMs += op.ms
        break
      case 'tick':
        s.tick(nowMs)
        break
      case 'send': {
        const req = s.takeAlterPartitionRequest()
        if (req !== null) {
          // At most one request in flight: the state offers nothing more until it is answered.
          expect(inFlight).toBeNull()
          expect(s.takeAlterPartitionRequest()).toBeNull()
          inFlight = req
        }
        break
      }
      case 'answer': {
        inFlight ??= s.takeAlterPartitionRequest()
        if (inFlight === null) break
        const req = inFlight
        inFlight = null
        if (op.fate === 'lost_before') {
          s.onAlterPartitionResponse(req, { kind: 'outcome_unknown', reason: 'lost request' })
          break
        }
        const decision = decide(req)
        if (op.fate === 'lost_after') s.onAlterPartitionResponse(req, { kind: 'outcome_unknown', reason: 'lost answer' })
        else if (decision === 'applied') s.onAlterPartitionResponse(req, { kind: 'committed', leaderEpoch: ctl.leaderEpoch, partitionEpoch: ctl.partitionEpoch, isr: ctl.isr })
        else s.onAlterPartitionResponse(req, { kind: 'error', errorCode: decision })
        break
      }
      case 'metadata':
        s.onMetadataUpdate({ leader: LOCAL, leaderEpoch: ctl.leaderEpoch, partitionEpoch: ctl.partitionEpoch, replicas: REPLICAS, isr: ctl.isr }, nowMs)
        break
      case 'controller_shrink': {
        // The controller removes a replica on its own (its broker was fenced).
        const id = FOLLOWERS[op.replica]
        if (ctl.isr.includes(id)) {
          ctl.isr = ctl.isr.filter((x) => x !== id)
          ctl.partitionEpoch += 1
        }
        break
      }
      case 'reelect':
        elect()
        if (inFlight !== null) {
          // The old epoch's request reaches the controller late: fenced, and its answer ignored.
          const decision = decide(inFlight)
          expect(decision).toBe(ErrorCode.FENCED_LEADER_EPOCH.code)
          expect(s.onAlterPartitionResponse(inFlight, { kind: 'error', errorCode: ErrorCode.FENCED_LEADER_EPOCH.code }).kind).toBe('ignored')
          inFlight = null
        }
        break
    }

    const view = s.view()
    const hw = s.highWatermark
    expect(hw).toBeGreaterThanOrEqual(previousHw)
    previousHw = hw
    expect(view.role).toBe('leader')
    expect(view.maximalIsr).toContain(LOCAL)
    for (const id of view.isr) expect(view.maximalIsr).toContain(id)
    // The controller may elect any member of its ISR: the HW must wait for all of them.
    for (const id of ctl.isr) expect(view.maximalIsr).toContain(id)
    expect(hw).toBeLessThanOrEqual(durability === 'fsync' ? durableEnd : logEnd)
    for (const f of view.followers) {
      if (view.maximalIsr.includes(f.replicaId) && f.acknowledgedEndOffset !== null) {
        expect(hw, `HW passes replica ${f.replicaId}'s acknowledged end`).toBeLessThanOrEqual(f.acknowledgedEndOffset)
      }
      // Independent of what the state was told: nothing a maximal-ISR member lacks is committed.
      if (view.maximalIsr.includes(f.replicaId)) expect(hw).toBeLessThanOrEqual(followerEnd.get(f.replicaId)!)
    }
  }
  return { state: s, logEnd }
}

describe('PartitionState property', () => {
  it('the HW never exceeds a maximal-ISR member\'s acknowledged end, never goes back, and covers the controller\'s ISR', () => {
    fc.assert(
      fc.property(fc.constantFrom<Durability>('fsync', 'page-cache'), fc.array(opArb, { minLength: 1, maxLength: 200, size: 'max' }), (durability, ops) => {
        run(durability, ops)
      }),
      { numRuns: 300 },
    )
  })

  it('makes progress: with followers keeping up and the controller answering, the HW reaches the log end', () => {
    const ops: Op[] = []
    for (let i = 0; i < 20; i++) {
      ops.push({ kind: 'append', records: 3 }, { kind: 'flush', fraction: 1 })
      for (let r = 0; r < 3; r++) ops.push({ kind: 'fetch', replica: r, fraction: 1 })
      ops.push({ kind: 'advance', ms: 100 }, { kind: 'tick' }, { kind: 'send' }, { kind: 'answer', fate: 'delivered' })
    }
    // Not a vacuous property: the same driver commits everything when nothing goes wrong.
    const { state, logEnd } = run('fsync', ops)
    expect(logEnd).toBe(60n)
    expect(state.highWatermark).toBe(60n)
    expect(state.isr).toEqual(REPLICAS)
  })
})
