/**
 * SimPartitionLog: one partition replica's log on a simulated disk, for the replication
 * simulator. It models what PartitionLog promises, in memory:
 *   - batches are RecordBatch v2 bytes with the base offset and leader epoch stamped in, as
 *     the broker stores them; appends go to the end, contiguously;
 *   - an append is not durable until a flush (group commit) that started after it completes;
 *     the durable part is always a prefix of the log;
 *   - truncation (KIP-101/279) is durable at once (PartitionLog lowers its recovery point and
 *     cuts the files before it returns), and caps the flushes still in flight;
 *   - the leader-epoch cache is the real LeaderEpochCache. Its checkpoint is written durably
 *     before the data it describes (PartitionLog.appendAssigned), so after a crash it may be
 *     ahead of the log; recovery trims it to the log end and re-adds the epochs of the
 *     surviving batches, as PartitionLog.recover does;
 *   - a crash keeps the durable prefix plus, batch by batch in order, some of the unsynced
 *     tail (the page cache may have written some of it back); a torn batch fails its CRC and
 *     is cut, so what survives is always whole batches;
 *   - the HW checkpoint (replication-offset-checkpoint) is a durable value the broker writes
 *     now and then; a restart takes min(checkpoint, log end).
 *
 * Planted bug support: completeFlush(token, lying = true) reports success without making
 * anything durable (a disk cache that lies about fsync).
 *
 * Invariants (asserted): offsets are contiguous from 0; epochs never decrease along the log;
 * durable batches form a prefix.
 */
import { assert, silentLogger, type Random } from '@tributary/metadata-quorum'
import { readBatchHeader, setBaseOffsetAndLeaderEpoch } from '@tributary/protocol'
import { LeaderEpochCache, type EpochEndOffset, type EpochEntry } from '../log/leader-epoch-cache.js'

export interface SimBatch {
  readonly baseOffset: bigint
  readonly lastOffset: bigint
  readonly epoch: number
  /** The stored bytes (base offset and leader epoch stamped); never mutated once stored. */
  readonly bytes: Buffer
}

interface StoredBatch {
  readonly batch: SimBatch
  /** Append order, for group commit: a flush covers every batch appended before it started. */
  readonly seq: number
  durable: boolean
}

export interface FlushToken {
  readonly seq: number
}

export type FollowerAppend =
  | { readonly kind: 'appended'; readonly logEndOffset: bigint }
  | { readonly kind: 'offset_mismatch'; readonly expectedOffset: bigint; readonly actualOffset: bigint }
  | { readonly kind: 'epoch_below_latest'; readonly batchEpoch: number; readonly latestEpoch: number }

export type EpochAssignResult = 'assigned' | 'unchanged' | 'stale_leader_epoch'

export class SimPartitionLog {
  private stored: StoredBatch[] = []
  private readonly epochCache = new LeaderEpochCache([], silentLogger)
  private nextSeq = 0
  /** The durable HW checkpoint. */
  private checkpointedHighWatermark = 0n
  /**
   * What the broker believes is flushed: the end of what its completed fsyncs covered. The
   * same as the durable end unless the disk lied; the broker acts on this, the checker reads
   * the real durability.
   */
  private flushedEnd = 0n

  get logStartOffset(): bigint {
    return 0n
  }

  get logEndOffset(): bigint {
    const last = this.stored[this.stored.length - 1]
    return last === undefined ? 0n : last.batch.lastOffset + 1n
  }

  get durableEndOffset(): bigint {
    let end = 0n
    for (const s of this.stored) {
      if (!s.durable) break
      end = s.batch.lastOffset + 1n
    }
    return end
  }

  /** The log end as of the last completed fsync (what the broker may count and acknowledge). */
  get flushedEndOffset(): bigint {
    return this.flushedEnd
  }

  get highWatermarkCheckpoint(): bigint {
    return this.checkpointedHighWatermark
  }

  get batchCount(): number {
    return this.stored.length
  }

  latestEpoch(): number | null {
    return this.epochCache.latestEpoch()
  }

  epochEntries(): readonly EpochEntry[] {
    return this.epochCache.entries()
  }

  /** OffsetsForLeaderEpoch, answered from this log (LeaderEpochCache.endOffsetFor). */
  endOffsetFor(epoch: number): EpochEndOffset {
    return this.epochCache.endOffsetFor(epoch, this.logEndOffset)
  }

  /** Every batch, in order (the checker reads logs through this). */
  batches(): SimBatch[] {
    return this.stored.map((s) => s.batch)
  }

  /** The batches a crash now would certainly keep. */
  durableBatches(): SimBatch[] {
    const out: SimBatch[] = []
    for (const s of this.stored) {
      if (!s.durable) break
      out.push(s.batch)
    }
    return out
  }

  /** The batch holding `offset`, or undefined. */
  batchContaining(offset: bigint): SimBatch | undefined {
    const i = this.indexOf(offset)
    return i < 0 ? undefined : this.stored[i].batch
  }

  /** Whether the batch holding `offset` is durable. */
  isDurable(offset: bigint): boolean {
    const i = this.indexOf(offset)
    return i >= 0 && this.stored[i].durable
  }

  /**
   * A leader append: stamps a copy of the producer's batch with the log end and `epoch`.
   * The caller assigned the epoch's start offset when it became leader.
   */
  appendAsLeader(producerBytes: Buffer, epoch: number): SimBatch {
    const latest = this.epochCache.latestEpoch()
    assert(latest === epoch, `leader append in epoch ${epoch}, but the log's latest epoch is ${latest}`)
    const bytes = Buffer.from(producerBytes)
    const baseOffset = this.logEndOffset
    setBaseOffsetAndLeaderEpoch(bytes, baseOffset, epoch)
    const header = readBatchHeader(bytes)
    const batch: SimBatch = { baseOffset, lastOffset: header.lastOffset, epoch, bytes }
    this.push(batch)
    return batch
  }

  /** A follower append of the leader's batches (PartitionLog.appendAsFollower's checks). */
  appendAsFollower(batches: readonly SimBatch[]): FollowerAppend {
    if (batches.length === 0) return { kind: 'appended', logEndOffset: this.logEndOffset }
    const first = batches[0]
    if (first.baseOffset !== this.logEndOffset) return { kind: 'offset_mismatch', expectedOffset: this.logEndOffset, actualOffset: first.baseOffset }
    const latest = this.epochCache.latestEpoch()
    if (latest !== null && first.epoch < latest) return { kind: 'epoch_below_latest', batchEpoch: first.epoch, latestEpoch: latest }
    for (const batch of batches) {
      assert(batch.baseOffset === this.logEndOffset, `replicated batches are not contiguous at ${batch.baseOffset}`)
      const now = this.epochCache.latestEpoch()
      assert(now === null || batch.epoch >= now, `replicated batch epoch ${batch.epoch} below ${now} inside one response`)
      if (now === null || batch.epoch > now) this.epochCache.assign(batch.epoch, batch.baseOffset)
      this.push(batch)
    }
    return { kind: 'appended', logEndOffset: this.logEndOffset }
  }

  /** Becoming leader: `epoch` starts at the log end (Kafka's Partition.makeLeader); durable at once. */
  assignEpochStartOffset(epoch: number): EpochAssignResult {
    const latest = this.epochCache.latestEpoch()
    if (latest !== null && epoch < latest) return 'stale_leader_epoch'
    return this.epochCache.assign(epoch, this.logEndOffset) ? 'assigned' : 'unchanged'
  }

  /**
   * Removes every batch that holds an offset >= `offset` (so the log ends at the batch
   * boundary at or below it). Durable at once. Returns the new log end.
   */
  truncateTo(offset: bigint): bigint {
    let keep = this.stored.length
    while (keep > 0 && this.stored[keep - 1].batch.lastOffset >= offset) keep--
    if (keep < this.stored.length) this.stored = this.stored.slice(0, keep)
    this.epochCache.truncateFromEnd(this.logEndOffset)
    if (this.flushedEnd > this.logEndOffset) this.flushedEnd = this.logEndOffset
    return this.logEndOffset
  }

  /**
   * Whole batches from the one holding `fromOffset`: at most `maxBatches`, and only batches
   * that end below `maxOffset` when given (the HW, for consumers).
   */
  read(fromOffset: bigint, maxBatches: number, maxOffset?: bigint): SimBatch[] {
    const out: SimBatch[] = []
    let i = this.indexOf(fromOffset)
    if (i < 0) return out
    for (; i < this.stored.length && out.length < maxBatches; i++) {
      const b = this.stored[i].batch
      if (maxOffset !== undefined && b.lastOffset >= maxOffset) break
      out.push(b)
    }
    return out
  }

  /** Starts a group commit covering everything appended so far. */
  startFlush(): FlushToken {
    return { seq: this.nextSeq }
  }

  /** Whether anything appended is not covered by a completed fsync yet. */
  get hasUnflushed(): boolean {
    return this.flushedEnd < this.logEndOffset
  }

  /**
   * The fsync finished: what it covered (the batches appended before it started that are
   * still in the log, a prefix) is durable, unless the disk lied. Returns the flushed end.
   */
  completeFlush(token: FlushToken, lying: boolean): bigint {
    let covered = 0n
    for (const s of this.stored) {
      if (s.seq >= token.seq) break
      if (!lying) s.durable = true
      covered = s.batch.lastOffset + 1n
    }
    if (covered > this.flushedEnd) this.flushedEnd = covered
    return this.flushedEnd
  }

  /** A clean shutdown: everything is flushed. */
  flushAll(): void {
    for (const s of this.stored) s.durable = true
    this.flushedEnd = this.logEndOffset
  }

  writeHighWatermarkCheckpoint(highWatermark: bigint): void {
    this.checkpointedHighWatermark = highWatermark
  }

  /**
   * The process died. Keeps the durable prefix and, batch by batch, each unsynced batch
   * with probability `survival` until the first one lost; then recovers as PartitionLog
   * does. Returns how many batches were lost.
   */
  crash(random: Random, survival: number): number {
    let keep = 0
    while (keep < this.stored.length && this.stored[keep].durable) keep++
    while (keep < this.stored.length && survival > 0 && random.next() < survival) keep++
    const lost = this.stored.length - keep
    this.stored = this.stored.slice(0, keep)
    for (const s of this.stored) s.durable = true
    this.flushedEnd = this.logEndOffset
    this.recover()
    return lost
  }

  /** PartitionLog.recover's epoch rules: trim the checkpoint to the log, add the batches' epochs. */
  private recover(): void {
    this.epochCache.truncateFromEnd(this.logEndOffset)
    for (const s of this.stored) {
      const latest = this.epochCache.latestEpoch()
      if (latest === null || s.batch.epoch > latest) this.epochCache.assign(s.batch.epoch, s.batch.baseOffset)
    }
  }

  private push(batch: SimBatch): void {
    const prev = this.stored[this.stored.length - 1]
    assert(prev === undefined || batch.epoch >= prev.batch.epoch, `epoch ${batch.epoch} after ${prev?.batch.epoch} at ${batch.baseOffset}`)
    this.stored.push({ batch, seq: this.nextSeq++, durable: false })
  }

  /** Index of the batch holding `offset`, or -1 (binary search; batches are contiguous). */
  private indexOf(offset: bigint): number {
    let lo = 0
    let hi = this.stored.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const b = this.stored[mid].batch
      if (offset < b.baseOffset) hi = mid - 1
      else if (offset > b.lastOffset) lo = mid + 1
      else return mid
    }
    return -1
  }
}
