/**
 * Replica agreement (issue 6): after healing, every replica of a partition holds the same
 * bytes up to the high watermark. Followers copy the leader's RecordBatches verbatim (offsets
 * and partition leader epoch included; KIP-101 truncation removes anything else), so a byte
 * difference below the high watermark is a divergent log, and a replica that ends before the
 * high watermark has not caught up ('replica-behind').
 *
 * Batches are compared by base offset over the range both replicas hold (a replica may have
 * deleted old segments). For each base offset the variant most replicas hold wins (a tie goes
 * to the variant of the lowest node id); every replica holding another variant, or missing a
 * batch inside its range, is divergent. A batch straddling the high watermark is compared
 * whole. Each divergent replica counts once, at its first differing batch.
 */
import { partitionKey, type ReplicaImage } from './history.ts'
import { violation, type Violation } from './check-result.ts'

export interface ReplicaCounts {
  /** Replica images looked at. */
  readonly replicas: number
  readonly replicaBehind: number
  readonly divergent: number
}

export interface ReplicaCheck {
  readonly counts: ReplicaCounts
  readonly violations: readonly Violation[]
}

interface Span {
  readonly image: ReplicaImage
  /** Batches with baseOffset below the high watermark, by base offset. */
  readonly batches: ReadonlyMap<bigint, Uint8Array>
  readonly start: bigint
  /** One past the last offset of its last batch below the high watermark. */
  readonly end: bigint
}

/**
 * highWatermarks: by partitionKey (from the read-backs). A partition without one is judged up
 * to the furthest end any of its replicas reaches.
 */
export function checkReplicas(replicas: readonly ReplicaImage[], highWatermarks: ReadonlyMap<string, bigint>): ReplicaCheck {
  const violations: Violation[] = []
  let replicaBehind = 0
  let divergent = 0
  const byPartition = new Map<string, ReplicaImage[]>()
  for (const image of replicas) {
    const key = partitionKey(image.topic, image.partition)
    const list = byPartition.get(key)
    if (list === undefined) byPartition.set(key, [image])
    else {
      if (list.some((other) => other.node === image.node)) throw new Error(`history has two images of ${key} on node ${image.node}`)
      list.push(image)
    }
  }

  for (const [key, images] of byPartition) {
    const hw = highWatermarks.get(key) ?? images.reduce((max, im) => bigMax(max, imageEnd(im)), 0n)
    const spans = images.map((image) => span(image, hw)).sort((a, b) => a.image.node - b.image.node)
    for (const s of spans) {
      if (s.end < hw) {
        replicaBehind++
        violations.push(violation('replica-behind', `${key} on node ${s.image.node} ends at ${s.end}, high watermark ${hw}`))
      }
    }
    if (spans.length < 2) continue

    const baseOffsets = new Set<bigint>()
    for (const s of spans) for (const base of s.batches.keys()) baseOffsets.add(base)
    const firstDivergence = new Map<number, string>()
    for (const base of [...baseOffsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      // The replicas whose range covers this offset must all hold the same batch there.
      const holders = spans.filter((s) => s.start <= base && base < s.end)
      const variants: { bytes: Uint8Array | undefined; nodes: number[] }[] = []
      for (const s of holders) {
        const bytes = s.batches.get(base)
        const same = variants.find((v) => sameBytes(v.bytes, bytes))
        if (same === undefined) variants.push({ bytes, nodes: [s.image.node] })
        else same.nodes.push(s.image.node)
      }
      if (variants.length < 2) continue
      // holders are sorted by node id, so on a tie the first variant holds the lowest id.
      let winner = variants[0]
      for (const v of variants) if (v.nodes.length > winner.nodes.length) winner = v
      for (const v of variants) {
        if (v === winner) continue
        for (const node of v.nodes) {
          if (firstDivergence.has(node)) continue
          const what = v.bytes === undefined ? 'has no batch starting there' : `holds other bytes (${v.bytes.length} vs ${winner.bytes?.length ?? 0})`
          firstDivergence.set(node, `${key} on node ${node} diverges at offset ${base}: it ${what} than nodes ${winner.nodes.join(',')}`)
        }
      }
    }
    for (const detail of firstDivergence.values()) {
      divergent++
      violations.push(violation('divergent', detail))
    }
  }
  return { counts: { replicas: replicas.length, replicaBehind, divergent }, violations }
}

function span(image: ReplicaImage, hw: bigint): Span {
  const batches = new Map<bigint, Uint8Array>()
  let start: bigint | null = null
  let end = 0n
  for (const b of image.batches) {
    if (b.baseOffset >= hw) continue
    if (start === null || b.baseOffset < start) start = b.baseOffset
    end = bigMax(end, b.lastOffset + 1n)
    batches.set(b.baseOffset, b.bytes)
  }
  return { image, batches, start: start ?? 0n, end }
}

function imageEnd(image: ReplicaImage): bigint {
  return image.batches.reduce((max, b) => bigMax(max, b.lastOffset + 1n), 0n)
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
}
