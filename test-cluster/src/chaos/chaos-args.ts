/**
 * The chaos runner's command line (pure: argv in, options or a message out), in the house
 * style of scripts/bench's benchArgs: `--help` lists every flag with its default, and a bad
 * flag or value is one line (then the usage) with exit code 2.
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { FAULT_KINDS, parseFaultKinds } from './fault-schedule.ts'
import { PRODUCERS, RECORDS_PER_SECOND, SENDS_IN_FLIGHT_MAX, TOPIC_PARTITIONS } from './chaos-limits.ts'
import type { ChaosOptions } from './run-chaos.ts'

interface Flag {
  readonly name: string
  readonly value: string
  readonly fallback: string | null
  readonly about: string
}

const FLAGS: readonly Flag[] = [
  { name: 'duration', value: 'S', fallback: '120', about: 'seconds of faults (the workload starts 3 s earlier and runs until every node is healed)' },
  { name: 'nodes', value: 'N', fallback: '3', about: 'combined nodes of the fresh cluster (at least 3: RF 3, min.insync.replicas 2)' },
  { name: 'faults', value: 'K,K', fallback: FAULT_KINDS.join(','), about: `fault kinds, from ${FAULT_KINDS.join(', ')} (partition needs root and ip netns; skipped with the reason otherwise)` },
  { name: 'seed', value: 'N', fallback: null, about: 'seed of the fault schedule (default: random; always printed)' },
  { name: 'out', value: 'DIR', fallback: './data/chaos-<time>', about: 'directory for history.json, report.json and summary.txt' },
  { name: 'bootstrap', value: 'HOST:PORT', fallback: null, about: 'use a running `npm start` cluster (a broker address) instead of a fresh one; needs --data-dir' },
  { name: 'data-dir', value: 'DIR', fallback: null, about: 'the running cluster\'s data directory (its `trib cluster --data-dir`), with --bootstrap' },
  { name: 'producers', value: 'N', fallback: String(PRODUCERS), about: 'idempotent producers (acks=all, keyed)' },
  { name: 'rate', value: 'N', fallback: String(RECORDS_PER_SECOND), about: 'records per second per producer' },
  { name: 'in-flight', value: 'N', fallback: String(SENDS_IN_FLIGHT_MAX), about: 'send() calls (one record each) a producer keeps unanswered at most' },
  { name: 'consumers', value: 'N', fallback: '2', about: 'members of the consumer group (0: no group)' },
  { name: 'partitions', value: 'N', fallback: String(TOPIC_PARTITIONS), about: 'partitions of the workload topic' },
  { name: 'override', value: 'KEY=VALUE', fallback: null, about: 'an extra server setting for every node of a fresh cluster, e.g. log.segment.bytes=262144 (repeatable)' },
  { name: 'keep-data', value: '', fallback: null, about: 'keep the fresh cluster\'s node directories (removed by default)' },
]

export function chaosUsage(): string {
  const width = Math.max(...FLAGS.map((f) => f.name.length + f.value.length)) + 4
  return [
    'usage: npm run chaos -- [flags]',
    '  Runs producers (acks=all, idempotent) and a consumer group against a cluster while injecting',
    '  seeded faults, then heals, reads every partition back and checks the history: nothing',
    '  acknowledged lost or duplicated, per-producer order, dense offsets, identical replicas,',
    '  committed offsets never backwards. Exits 1 on any violation.',
    ...FLAGS.map((f) => `  --${`${f.name}${f.value === '' ? '' : ` ${f.value}`}`.padEnd(width)} ${f.about}${f.fallback === null ? '' : ` (default ${f.fallback})`}`),
    `  --${'help'.padEnd(width)} this text`,
  ].join('\n')
}

export type ChaosArgs =
  | { readonly kind: 'run'; readonly options: ChaosOptions }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'error'; readonly message: string }

function positiveInt(values: Readonly<Record<string, string | boolean | undefined>>, name: string, fallback: string, min = 1): number | string {
  const raw = values[name]
  const text = typeof raw === 'string' ? raw : fallback
  if (!/^[0-9]+$/.test(text)) return `--${name} must be an integer >= ${min}, not '${text}'`
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < min) return `--${name} must be an integer >= ${min}, not '${text}'`
  return n
}

/** `now` and `randomSeed` are injected so the parse is pure. */
export function parseChaosArgs(argv: readonly string[], now: Date, randomSeed: number): ChaosArgs {
  if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help', text: chaosUsage() }
  let values: Record<string, string | boolean | undefined>
  let overrides: string[] = []
  try {
    const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {}
    for (const f of FLAGS) options[f.name] = { type: f.value === '' ? 'boolean' : 'string', ...(f.name === 'override' ? { multiple: true } : {}) }
    const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values
    const given = parsed.override
    overrides = Array.isArray(given) ? given.filter((o): o is string => typeof o === 'string') : []
    values = Object.fromEntries(Object.entries(parsed).filter(([k]) => k !== 'override')) as Record<string, string | boolean | undefined>
  } catch (err) {
    // node:util's messages may run over several lines; the first says what is wrong.
    return { kind: 'error', message: (err instanceof Error ? err.message : String(err)).split('\n')[0]! }
  }
  const ints: Record<string, number> = {}
  for (const [name, fallback, min] of [['duration', '120', 1], ['nodes', '3', 3], ['producers', String(PRODUCERS), 1], ['rate', String(RECORDS_PER_SECOND), 1],
    ['in-flight', String(SENDS_IN_FLIGHT_MAX), 1], ['consumers', '2', 0], ['partitions', String(TOPIC_PARTITIONS), 1]] as const) {
    const n = positiveInt(values, name, fallback, min)
    if (typeof n === 'string') return { kind: 'error', message: n }
    ints[name] = n
  }
  let seed = randomSeed
  if (typeof values.seed === 'string') {
    const n = positiveInt(values, 'seed', '0', 0)
    if (typeof n === 'string' || n > 0xffffffff) return { kind: 'error', message: `--seed must be an integer from 0 to 4294967295, not '${values.seed}'` }
    seed = n
  }
  const faults = parseFaultKinds(typeof values.faults === 'string' ? values.faults : FLAGS.find((f) => f.name === 'faults')!.fallback!)
  if ('unknown' in faults) return { kind: 'error', message: `--faults: unknown fault kind '${faults.unknown}' (known: ${FAULT_KINDS.join(', ')})` }
  const bootstrap = typeof values.bootstrap === 'string' ? values.bootstrap : null
  const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : null
  if (bootstrap !== null && !/^.+:[0-9]+$/.test(bootstrap)) return { kind: 'error', message: `--bootstrap must be host:port, not '${bootstrap}'` }
  if (bootstrap !== null && dataDir === null) return { kind: 'error', message: '--bootstrap needs --data-dir (the running cluster\'s data directory)' }
  if (bootstrap === null && dataDir !== null) return { kind: 'error', message: '--data-dir goes with --bootstrap (a fresh cluster uses temporary directories)' }
  const badOverride = overrides.find((o) => !/^[a-z0-9._-]+=.*$/.test(o))
  if (badOverride !== undefined) return { kind: 'error', message: `--override must be key=value, not '${badOverride}'` }
  if (overrides.length > 0 && bootstrap !== null) return { kind: 'error', message: '--override applies to a fresh cluster, not to a running one (--bootstrap)' }
  const stamp = now.toISOString().replace(/[:.]/g, '-')
  const compact = now.toISOString().replace(/[-:]|\.[0-9]+Z$/g, '')
  return {
    kind: 'run',
    options: {
      durationS: ints.duration!, nodes: ints.nodes!, faults: faults.kinds, seed,
      outDir: typeof values.out === 'string' ? values.out : join('data', `chaos-${stamp}`),
      bootstrap, dataDir,
      producers: ints.producers!, consumers: ints.consumers!, recordsPerSecond: ints.rate!, inFlightMax: ints['in-flight']!, partitions: ints.partitions!,
      // A running cluster may hold a `chaos` topic from an earlier run: a fresh name each time.
      ...(bootstrap === null ? {} : { topic: `chaos-${compact}` }),
      overrides,
      keepData: values['keep-data'] === true,
    },
  }
}
