/**
 * The consumer's buffer of fetched records: a FIFO with O(1) shift. An array's shift() moves
 * every element left; with a fetch round of 10^4-10^5 buffered records that made handing
 * out records quadratic (the consumer's largest cost in issue 7's profile).
 */

/** Entries handed out before the array is compacted (then at least half of it is spent). */
const COMPACT_AFTER_ENTRIES = 4096

export class RecordQueue<T> {
  private items: (T | undefined)[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(item: T): void {
    this.items.push(item)
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head === this.items.length) this.clear()
    else if (this.head >= COMPACT_AFTER_ENTRIES && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  /** Keeps only the entries `keep` accepts, in order. */
  retain(keep: (item: T) => boolean): void {
    const kept: T[] = []
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i] as T
      if (keep(item)) kept.push(item)
    }
    this.items = kept
    this.head = 0
  }

  /** Drops the entries after the first `length` (those pushed since the queue was that long). */
  truncate(length: number): void {
    if (length < 0 || length > this.length) throw new RangeError(`cannot truncate ${this.length} entries to ${length}`)
    this.items.length = this.head + length
    if (length === 0) this.clear()
  }

  clear(): void {
    this.items = []
    this.head = 0
  }
}
