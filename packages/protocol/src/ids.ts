// Branded ids: a NodeId cannot be passed where a ProducerId is expected, though both are
// plain numbers at run time. Brand at the boundary (config parsing, decoded messages).

declare const brand: unique symbol
export type Brand<T, B extends string> = T & { readonly [brand]: B }

/** A node of the cluster: a controller, a broker, or both. Kafka's `node.id`. */
export type NodeId = Brand<number, 'NodeId'>
/** An idempotent producer's id, allocated in blocks by the controller. */
export type ProducerId = Brand<bigint, 'ProducerId'>
/** Kafka's 22-character base64url topic uuid. */
export type TopicId = Brand<string, 'TopicId'>

export const NO_NODE = -1 as NodeId

export function nodeId(n: number): NodeId {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new RangeError(`node id must be an integer between 0 and 2147483647, got ${n}`)
  }
  return n as NodeId
}

export function producerId(n: bigint): ProducerId {
  if (n < 0n) throw new RangeError(`producer id must be >= 0, got ${n}`)
  return n as ProducerId
}

const TOPIC_ID = /^[A-Za-z0-9_-]{22}$/

export function topicId(s: string): TopicId {
  if (!TOPIC_ID.test(s)) throw new RangeError(`topic id must be 22 base64url characters, got '${s}'`)
  return s as TopicId
}

/** Turns 16 random bytes into a topic id. The bytes come from the caller so pure code stays pure. */
export function topicIdFromBytes(bytes: Uint8Array): TopicId {
  if (bytes.length !== 16) throw new RangeError(`topic id needs 16 bytes, got ${bytes.length}`)
  return Buffer.from(bytes).toString('base64url') as TopicId
}
