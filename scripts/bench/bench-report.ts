/**
 * What the benchmarks share for reporting: exact percentiles of a small sample, millisecond
 * formatting, a timed poll helper, the JSON result file under bench-results/, and their
 * command-line parsing (--help, and one line plus the usage for a bad flag, not a stack trace).
 *
 * Percentiles use the nearest-rank method on the sorted sample (no interpolation), so every
 * reported figure is one that was really measured.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, platform, release, totalmem } from 'node:os'
import { basename, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { REPO_ROOT, waitFor } from '../../test-cluster/src/controller-cluster.ts'

export interface Summary {
  readonly count: number
  readonly min: number
  readonly median: number
  readonly p90: number
  readonly max: number
  readonly mean: number
}

/** Nearest-rank percentile (0 < p <= 100) of a non-empty sample. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of an empty sample')
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export function summarize(sample: readonly number[]): Summary | null {
  if (sample.length === 0) return null
  const sorted = [...sample].sort((a, b) => a - b)
  return {
    count: sorted.length,
    min: sorted[0]!,
    median: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    max: sorted.at(-1)!,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  }
}

/** The measured values of `results` (the nulls are trials where nothing was measured). */
export function measured<T>(results: readonly T[], value: (r: T) => number | null): number[] {
  return results.map(value).filter((v): v is number => v !== null)
}

/**
 * A benchmark run that threw: says why and dumps the cluster's process output on stderr,
 * and makes the exit code 1. Returns the message for the result file.
 */
export function reportAborted(err: unknown, cluster: { dump(): string }): string {
  const message = err instanceof Error ? err.message : String(err)
  console.error(`benchmark aborted: ${message}`)
  console.error(cluster.dump())
  process.exitCode = 1
  return message
}

export function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${value.toFixed(1)} ms`
}

export function formatSummary(label: string, s: Summary | null): string {
  if (s === null) return `${label}: no samples`
  return `${label.padEnd(40)} median ${ms(s.median).padStart(10)}   p90 ${ms(s.p90).padStart(10)}   max ${ms(s.max).padStart(10)}   (n=${s.count}, min ${ms(s.min)})`
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / (1024 * 1024)).toFixed(2)} MiB`
}

/**
 * Polls `probe` every `intervalMs` until it returns a value (not null), giving up after
 * `timeoutMs` (test-cluster's waitFor); also returns performance.now() of the answer.
 */
export async function pollUntil<T>(probe: () => Promise<T | null>, intervalMs: number, timeoutMs: number, what: string): Promise<{ value: T; atMs: number }> {
  const value = await waitFor(probe, what, timeoutMs, intervalMs)
  return { value, atMs: performance.now() }
}

/** Writes bench-results/<name>-<timestamp>.json (bigints as decimal strings); returns the path. */
export async function writeResult(name: string, result: unknown): Promise<string> {
  const dir = join(REPO_ROOT, 'bench-results')
  await mkdir(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const path = join(dir, `${name}-${stamp}.json`)
  const text = JSON.stringify(result, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2)
  await writeFile(path, text + '\n')
  return path
}

/** Node, OS and CPU facts that make a figure comparable with another run. */
export function environment(): Record<string, string | number> {
  const list = cpus()
  return {
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: list[0]?.model ?? 'unknown',
    cpus: list.length,
    memoryBytes: totalmem(),
  }
}

/**
 * parseArgs for a benchmark's flags: `--help` prints `about` and every flag with its default
 * and exits 0; an unknown flag or a missing value prints one line and the usage and exits 2.
 */
export function benchArgs<T extends ParseArgsConfig>(about: string, config: T): ReturnType<typeof parseArgs<T>> {
  const name = basename(process.argv[1] ?? 'bench', '.ts')
  const flags = Object.entries(config.options ?? {}).map(([flag, o]) => {
    const value = o.type === 'string' ? ' <value>' : ''
    const fallback = o.default === undefined || (Array.isArray(o.default) && o.default.length === 0) || o.default === false ? '' : `  (default ${String(o.default)})`
    return `  --${flag}${value}${o.multiple === true ? ' (repeatable)' : ''}${fallback}`
  })
  const usage = [`usage: ${name} [flags]`, `  ${about}`, ...flags, '  --help'].join('\n')
  const args = config.args ?? process.argv.slice(2)
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage)
    process.exit(0)
  }
  try {
    return parseArgs(config)
  } catch (err) {
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}\n${usage}`)
    process.exit(2)
  }
}
