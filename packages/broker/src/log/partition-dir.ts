/**
 * Names of partition directories under a `log.dirs` entry: `<topic>-<partition>`, Kafka's
 * layout. Topic names are [a-zA-Z0-9._-]{1,249} (Kafka's rule, which the controller enforces),
 * so the last '-' always separates the partition number.
 */
import { join } from 'node:path'
import { assert } from '@tributary/metadata-quorum'

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/
const DIR_NAME = /^([a-zA-Z0-9._-]{1,249})-(0|[1-9][0-9]{0,9})$/
const PARTITION_MAX = 0x7fffffff

export function partitionDirName(topic: string, partition: number): string {
  assert(TOPIC_NAME.test(topic) && topic !== '.' && topic !== '..', `'${topic}' is not a legal topic name`)
  assert(Number.isInteger(partition) && partition >= 0 && partition <= PARTITION_MAX, `partition ${partition} out of range`)
  return `${topic}-${partition}`
}

export function partitionDir(logDir: string, topic: string, partition: number): string {
  return join(logDir, partitionDirName(topic, partition))
}

/** The topic and partition a directory name stands for, or null if it is not a partition directory. */
export function parsePartitionDirName(name: string): { readonly topic: string; readonly partition: number } | null {
  const match = DIR_NAME.exec(name)
  if (match === null) return null
  const partition = Number(match[2])
  if (partition > PARTITION_MAX || match[1] === '.' || match[1] === '..') return null
  return { topic: match[1], partition }
}
