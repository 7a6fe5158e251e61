import { describe, expect, it } from 'vitest'
import { checkHistory } from './check-history.ts'
import { cleanHistory } from './check-fixtures.ts'
import { alignColumns, formatSummaryTable, formatViolations } from './summary-table.ts'

describe('alignColumns', () => {
  it('left-aligns the first column and right-aligns the rest', () => {
    expect(alignColumns([['a', '1', 'x'], ['long name', '12345', '']])).toEqual(['a              1  x', 'long name  12345'])
  })
})

describe('formatSummaryTable', () => {
  const faults = [
    { kind: 'kill-leader', target: 'node-1', startMs: 1000 },
    { kind: 'kill-leader', target: 'node-2', startMs: 1003 },
    { kind: 'pause', target: 'node-3', startMs: 1_000_000 },
  ]
  const h = cleanHistory({ producers: 2, partitions: 2, sendsPerProducer: 5, nodes: 2, faults })

  it('prints counts, statuses and unavailability per fault kind', () => {
    const text = formatSummaryTable(checkHistory(h))
    const lines = text.split('\n')
    expect(lines[0]).toMatch(/^check\s+count\s+status$/)
    expect(lines.find((l) => l.startsWith('acknowledged'))).toMatch(/^acknowledged\s+10$/)
    expect(lines.find((l) => l.startsWith('lost '))).toMatch(/^lost\s+0\s+ok$/)
    expect(lines.find((l) => l.startsWith('divergent replicas'))).toMatch(/\s0\s+ok$/)
    expect(text).toMatch(/unavailability\s+faults\s+p50\s+max\s+never acked/)
    expect(lines.find((l) => l.startsWith('kill-leader'))).toMatch(/^kill-leader\s+2\s+5 ms\s+5 ms\s+0$/)
    expect(lines.find((l) => l.startsWith('pause'))).toMatch(/^pause\s+1\s+-\s+-\s+1$/)
    expect(lines[lines.length - 1]).toBe('history check: PASS')
    // Every row of the first table has its columns aligned: equal widths.
    const first = lines.slice(0, lines.indexOf(''))
    const countEnd = first[0].indexOf('count') + 'count'.length
    for (const l of first.slice(1)) expect(l.slice(0, countEnd)).toMatch(/\d$/)
  })

  it('marks violations FAIL and lists their details', () => {
    const broken = { ...h, consumed: [], readBacks: h.readBacks.map((rb) => ({ ...rb, records: rb.records.slice(1) })) }
    const report = checkHistory(broken, { maxDetailsPerKind: 1 })
    const text = formatSummaryTable(report)
    expect(text.split('\n').find((l) => l.startsWith('lost '))).toMatch(/^lost\s+2\s+FAIL$/)
    expect(text).toMatch(/history check: FAIL \(14 violations\)$/)
    const details = formatViolations(report).split('\n')
    expect(details[0]).toMatch(/^lost: /)
    expect(details[details.length - 1]).toBe(`... and ${report.omittedViolations} more not listed`)
  })

  it('says when there were no faults', () => {
    expect(formatSummaryTable(checkHistory(cleanHistory({ producers: 1, partitions: 1, sendsPerProducer: 1, nodes: 1 })))).toContain('unavailability: no faults')
  })
})
