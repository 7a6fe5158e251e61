/** GetOffsetShell's --partitions and --time values, parsed (pure). */
import type { OffsetSpec } from '@tributary/client'
import { CliError } from '../cli-error.js'

/** `0,1` or ranges `0-2,5` (Kafka 3.x), as a sorted list without duplicates. */
export function parsePartitionList(raw: string): number[] {
  const out = new Set<number>()
  for (const item of raw.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item)
    if (m === null) throw new CliError(`--partitions: '${item}' is not a partition number or range (e.g. 0,1 or 0-2)`)
    const from = Number(m[1])
    const to = m[2] === undefined ? from : Number(m[2])
    if (to < from) throw new CliError(`--partitions: '${item}' is an empty range`)
    for (let p = from; p <= to; p++) out.add(p)
  }
  return [...out].sort((a, b) => a - b)
}

/** -1 / latest (the high watermark), -2 / earliest (the log start), or a timestamp in ms. */
export function parseTimeSpec(raw: string): OffsetSpec {
  const v = raw.trim()
  if (v === '-1' || v === 'latest') return 'latest'
  if (v === '-2' || v === 'earliest') return 'earliest'
  if (v === '-3' || v === 'max-timestamp') throw new CliError('--time -3 (max-timestamp) is not supported; use -1, -2 or a timestamp in ms')
  if (!/^\d+$/.test(v)) throw new CliError(`--time must be -1 (latest), -2 (earliest) or a timestamp in ms, got '${raw}'`)
  return BigInt(v)
}

export function formatOffsetLine(topic: string, partition: number, offset: bigint): string {
  return `${topic}:${partition}:${offset}`
}

/** GetOffsetShell's --topic: a topic name or a regular expression matching whole names. */
export function topicMatcher(raw: string): (name: string) => boolean {
  let pattern: RegExp
  try {
    pattern = new RegExp(`^(?:${raw})$`)
  } catch {
    throw new CliError(`--topic '${raw}' is neither a topic name nor a valid regular expression`)
  }
  return (name) => name === raw || pattern.test(name)
}
