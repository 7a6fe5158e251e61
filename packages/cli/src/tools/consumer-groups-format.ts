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

/**
 * Left-aligned columns joined by one space: column i is `fixed[i]` wide when given, else as
 * wide as its widest cell; the last column is not padded. Lines end without trailing spaces.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], fixed: readonly (number | null)[] = []): string[] {
  const widths = header.map((h, i) => fixed[i] ?? Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const format = (cells: readonly string[]): string => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join(' ').trimEnd()
  return [format(header), ...rows.map(format)]
}

/** The offsets table's lines (the first is the blank line Kafka prints before the header). */
export function formatGroupOffsets(group: GroupDescription): string[] {
  return ['', ...formatTable(HEADER, groupRows(group), [null, null, 10, 15, 15, 15, null, null])]
}

/** `--members`: GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS, one row per member. */
export function formatGroupMembers(group: GroupDescription): string[] {
  const rows = group.members.map((m) => [group.groupId, m.memberId, '-', '-', String(m.assignment.length)])
  return ['', ...formatTable(['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS'], rows, [null, null, null, null, null])]
}

/**
 * `--state`: GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS. The coordinator is
 * not in the SDK's description (`-`); the assignor is the broker's KIP-848 uniform one.
 */
export function formatGroupState(group: GroupDescription): string[] {
  return ['', ...formatTable(['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS'], [[group.groupId, '-', 'uniform', group.state, String(group.members.length)]], [25, 25, 20, 15, null])]
}
