/**
 * kafka-consumer-groups --describe's offsets table (ConsumerGroupCommand.printOffsets), pure:
 * a blank line, then the header GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG
 * CONSUMER-ID HOST CLIENT-ID and one row per partition, columns left-aligned and padded as
 * Kafka's format string (%-Ns with N the widest value; PARTITION 10, offsets and LAG 15).
 * Without a committed offset CURRENT-OFFSET and LAG are `-`, as in Kafka. The SDK does not
 * report members' hosts or client ids: those columns are `-`.
 */
import type { GroupDescription } from '@tributary/client'

const HEADER = ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'] as const

export function groupRows(group: GroupDescription): string[][] {
  const owner = new Map<string, string>()
  for (const m of group.members) for (const tp of m.assignment) owner.set(`${tp.topic}\u0000${tp.partition}`, m.memberId)
  return group.partitions.map((p) => {
    const committed = p.committedOffset >= 0n
    return [
      group.groupId,
      p.topic,
      String(p.partition),
      committed ? String(p.committedOffset) : '-',
      p.latestOffset >= 0n ? String(p.latestOffset) : '-',
      committed ? String(p.lag) : '-',
      owner.get(`${p.topic}\u0000${p.partition}`) ?? '-',
      '-',
      '-',
    ]
  })
}

/** The table's lines (the first is the blank line Kafka prints before the header). */
export function formatGroupOffsets(group: GroupDescription): string[] {
  const rows = groupRows(group)
  const width = (i: number, min: number): number => Math.max(min, HEADER[i]!.length, ...rows.map((r) => r[i]!.length))
  const widths = [width(0, 0), width(1, 0), 10, 15, 15, 15, width(6, 0), width(7, 0)]
  const format = (cells: readonly string[]): string => cells.map((c, i) => (i < widths.length ? c.padEnd(Math.max(widths[i]!, c.length)) : c)).join(' ').trimEnd()
  return ['', format(HEADER), ...rows.map(format)]
}
