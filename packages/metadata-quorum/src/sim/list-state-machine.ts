/**
 * ListStateMachine: the trivial state machine of raft mode. It "applies" data entries to a
 * list, kept as a count plus two running 32-bit hashes of the entries' bytes in order, so two
 * nodes that applied the same data in the same order have the same fingerprint, and any
 * difference in content or order shows. leader_change entries advance the applied offset but
 * not the state (they carry no data).
 *
 * The snapshot encoding is the 12-byte state (count, hashA, hashB), little endian.
 */
import type { Offset, RaftEntry, Snapshot } from '../raft/types.js'
import { assert } from '../util/assert.js'

export class ListStateMachine {
  private count = 0
  private hashA = 0x811c9dc5
  private hashB = 0x12345678
  private appliedEnd: Offset = 0
  private lastEpoch = 0

  get appliedEndOffset(): Offset {
    return this.appliedEnd
  }

  /** Epoch of the entry at appliedEndOffset - 1 (0 if nothing applied). */
  get appliedEpoch(): number {
    return this.lastEpoch
  }

  get size(): number {
    return this.count
  }

  apply(entry: RaftEntry): void {
    assert(entry.offset === this.appliedEnd, 'entries are applied in offset order without gaps')
    this.appliedEnd = entry.offset + 1
    this.lastEpoch = entry.epoch
    if (entry.kind !== 'data') return
    this.count++
    let a = this.hashA
    let b = this.hashB
    const d = entry.data
    for (let i = 0; i < d.length; i++) {
      a = Math.imul(a ^ d[i], 0x01000193) >>> 0
      b = (Math.imul(b, 31) + d[i] + 1) >>> 0
    }
    // Mark the entry boundary so [ab][c] and [a][bc] differ.
    this.hashA = Math.imul(a ^ 0xff, 0x01000193) >>> 0
    this.hashB = (Math.imul(b, 31) + d.length) >>> 0
  }

  fingerprint(): string {
    return `${this.count}:${this.hashA.toString(16)}:${this.hashB.toString(16)}`
  }

  snapshot(): Snapshot {
    const data = new Uint8Array(12)
    const view = new DataView(data.buffer)
    view.setUint32(0, this.count, true)
    view.setUint32(4, this.hashA, true)
    view.setUint32(8, this.hashB, true)
    return { id: { endOffset: this.appliedEnd, epoch: this.lastEpoch }, data }
  }

  restore(snapshot: Snapshot): void {
    assert(snapshot.data.length === 12, 'a list state machine snapshot is 12 bytes')
    const view = new DataView(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength)
    this.count = view.getUint32(0, true)
    this.hashA = view.getUint32(4, true)
    this.hashB = view.getUint32(8, true)
    this.appliedEnd = snapshot.id.endOffset
    this.lastEpoch = snapshot.id.epoch
  }
}
