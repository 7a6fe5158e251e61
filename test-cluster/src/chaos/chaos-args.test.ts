import { describe, expect, it } from 'vitest'
import { parseChaosArgs } from './chaos-args.ts'
import { FAULT_KINDS } from './fault-schedule.ts'

const NOW = new Date('2026-11-24T08:00:00.000Z')

describe('parseChaosArgs', () => {
  it('takes the issue\'s command line', () => {
    const a = parseChaosArgs(['--duration', '120', '--nodes', '3', '--faults', 'kill-leader,kill-controller,kill-any,pause,restart,partition'], NOW, 99)
    expect(a.kind).toBe('run')
    if (a.kind !== 'run') return
    expect(a.options).toMatchObject({ durationS: 120, nodes: 3, seed: 99, bootstrap: null, dataDir: null, outDir: 'data/chaos-2026-11-24T08-00-00-000Z' })
    expect(a.options.faults).toEqual([...FAULT_KINDS])
  })

  it('explains every flag on --help', () => {
    const a = parseChaosArgs(['--help'], NOW, 1)
    expect(a.kind).toBe('help')
    if (a.kind !== 'help') return
    for (const flag of ['--duration', '--nodes', '--faults', '--seed', '--out', '--bootstrap', '--data-dir', '--producers', '--rate', '--in-flight', '--consumers', '--partitions', '--keep-data']) expect(a.text).toContain(flag)
  })

  it('refuses bad flags and values with one line', () => {
    const error = (argv: string[]): string => {
      const a = parseChaosArgs(argv, NOW, 1)
      if (a.kind !== 'error') throw new Error(`expected an error for ${argv.join(' ')}`)
      expect(a.message).not.toContain('\n')
      return a.message
    }
    expect(error(['--bogus'])).toMatch(/bogus/)
    expect(error(['--duration', 'ten'])).toMatch(/--duration/)
    expect(error(['--nodes', '2'])).toMatch(/--nodes must be an integer >= 3/)
    expect(error(['--faults', 'kill-leader,nuke'])).toMatch(/unknown fault kind 'nuke'/)
    expect(error(['--bootstrap', 'localhost:9092'])).toMatch(/--data-dir/)
    expect(error(['--seed', '-1'])).toMatch(/--seed/)
  })

  it('passes repeated --override settings to a fresh cluster only', () => {
    const a = parseChaosArgs(['--override', 'log.segment.bytes=262144', '--override', 'replica.lag.time.max.ms=2000'], NOW, 1)
    expect(a.kind === 'run' && a.options.overrides).toEqual(['log.segment.bytes=262144', 'replica.lag.time.max.ms=2000'])
    expect(parseChaosArgs(['--override', 'nonsense'], NOW, 1)).toMatchObject({ kind: 'error', message: "--override must be key=value, not 'nonsense'" })
    expect(parseChaosArgs(['--override', 'a=b', '--bootstrap', 'h:1', '--data-dir', 'd'], NOW, 1)).toMatchObject({ kind: 'error' })
  })

  it('uses the given seed and a fresh topic name against a running cluster', () => {
    const a = parseChaosArgs(['--seed', '12', '--bootstrap', 'localhost:9092', '--data-dir', './data'], NOW, 1)
    expect(a.kind).toBe('run')
    if (a.kind !== 'run') return
    expect(a.options.seed).toBe(12)
    expect(a.options.topic).toBe('chaos-20261124T080000')
  })
})
