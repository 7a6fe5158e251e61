/**
 * The summary table of a chaos run (issue 6): plain aligned text, one row per count, a
 * status column ('ok' / 'FAIL') on the rows that are violations, then the unavailability
 * windows per fault kind (p50 and max). Pure: the runner prints it.
 */
import type { HistoryCounts, HistoryReport } from './check-history.ts'

interface Row {
  readonly label: string
  readonly value: number
  /** A violation row: FAIL when non-zero. */
  readonly violation: boolean
}

function rows(c: HistoryCounts): Row[] {
  const info = (label: string, value: number): Row => ({ label, value, violation: false })
  const bad = (label: string, value: number): Row => ({ label, value, violation: true })
  return [
    info('acknowledged', c.acknowledged),
    info('indeterminate', c.indeterminate),
    info('failed (definite)', c.failedDefinite),
    info('read back', c.readBackRecords),
    bad('lost', c.lost),
    bad('wrong offset', c.wrongOffset),
    bad('duplicated', c.duplicated),
    bad('reordered', c.reordered),
    bad('phantom', c.phantom),
    bad('failed but written', c.failedButWritten),
    bad('non-dense', c.nonDense),
    bad('divergent replicas', c.divergent),
    bad('replicas behind', c.replicaBehind),
    bad('commit regressions', c.commitRegressions),
    bad('consumer missed', c.consumerMissed),
    bad('consumer phantom', c.consumerPhantom),
    bad('consumer inconsistent', c.consumerInconsistent),
    info('consumed duplicates', c.consumedDuplicates),
  ]
}

/** Left-aligned first column, the others right-aligned, two spaces apart. */
export function alignColumns(table: readonly (readonly string[])[]): string[] {
  const widths: number[] = []
  for (const row of table) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return table.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd())
}

function ms(value: number | null): string {
  return value === null ? '-' : `${Math.round(value)} ms`
}

export function formatSummaryTable(report: HistoryReport): string {
  const lines = alignColumns([['check', 'count', 'status'], ...rows(report.counts).map((r) => [r.label, String(r.value), r.violation ? (r.value === 0 ? 'ok' : 'FAIL') : ''])])
  lines.push('')
  if (report.unavailability.length === 0) {
    lines.push('unavailability: no faults')
  } else {
    lines.push(
      ...alignColumns([
        ['unavailability', 'faults', 'p50', 'max', 'never acked'],
        ...report.unavailability.map((u) => [u.kind, String(u.faults), ms(u.p50Ms), ms(u.maxMs), String(u.unresolved)]),
      ]),
    )
  }
  lines.push('')
  lines.push(report.ok ? 'history check: PASS' : `history check: FAIL (${Object.values(report.violationsByKind).reduce((a, b) => a + b, 0)} violations)`)
  return lines.join('\n')
}

/** The listed violation details, one per line ('kind: detail'), with a note on the ones omitted. */
export function formatViolations(report: HistoryReport): string {
  const lines = report.violations.map((v) => `${v.kind}: ${v.detail}`)
  if (report.omittedViolations > 0) lines.push(`... and ${report.omittedViolations} more not listed`)
  return lines.join('\n')
}
