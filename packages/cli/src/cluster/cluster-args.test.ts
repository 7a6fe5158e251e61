import { describe, expect, it } from 'vitest'
import { checkCleanTarget, chooseNodeCount, displayPath, parseNodeCount, parseNodeId, parseStartOptions, resolveDataDir } from './cluster-args.js'

const where = { cwd: '/work/repo', homeDir: '/home/dev' }

describe('parseNodeCount', () => {
  it('leaves an absent --nodes open (the data dir or the default decides)', () => {
    expect(parseNodeCount(undefined)).toEqual({ kind: 'ok', value: null })
  })

  it('accepts 1 to 9', () => {
    expect(parseNodeCount('1')).toEqual({ kind: 'ok', value: 1 })
    expect(parseNodeCount('5')).toEqual({ kind: 'ok', value: 5 })
    expect(parseNodeCount('9')).toEqual({ kind: 'ok', value: 9 })
  })

  it.each(['0', '10', '-1', '3.5', 'three', '', '1e1', '0x3'])('refuses %j, naming the flag and the range', (raw) => {
    expect(parseNodeCount(raw)).toEqual({ kind: 'error', message: `--nodes: '${raw}' is not a node count from 1 to 9` })
  })
})

describe('chooseNodeCount', () => {
  it('prefers the flag, then the recorded size, then 3', () => {
    expect(chooseNodeCount(5, 3)).toBe(5)
    expect(chooseNodeCount(null, 5)).toBe(5)
    expect(chooseNodeCount(null, null)).toBe(3)
  })
})

describe('data dir', () => {
  it('resolves against the working directory, ./data by default', () => {
    expect(resolveDataDir(undefined, where)).toEqual({ kind: 'ok', value: '/work/repo/data' })
    expect(resolveDataDir('tmp/d', where)).toEqual({ kind: 'ok', value: '/work/repo/tmp/d' })
    expect(resolveDataDir('/srv/trib', where)).toEqual({ kind: 'ok', value: '/srv/trib' })
    expect(resolveDataDir(' ', where).kind).toBe('error')
  })

  it('refuses to clean the root or the home directory, and nothing else', () => {
    expect(checkCleanTarget('/', where)).toEqual({ kind: 'error', message: '--clean: refusing to clean the filesystem root (--data-dir /)' })
    expect(checkCleanTarget('/home/dev', where)).toEqual({ kind: 'error', message: '--clean: refusing to clean the home directory (--data-dir /home/dev)' })
    expect(checkCleanTarget('/home/dev/data', where).kind).toBe('ok')
  })

  it('shows paths under the working directory relative to it', () => {
    expect(displayPath('/work/repo/data/node-1', '/work/repo')).toBe('./data/node-1')
    expect(displayPath('/work/repo', '/work/repo')).toBe('.')
    expect(displayPath('/work/repository/data', '/work/repo')).toBe('/work/repository/data')
    expect(displayPath('/tmp/x', '/work/repo')).toBe('/tmp/x')
  })
})

describe('parseStartOptions', () => {
  it('combines the flags', () => {
    expect(parseStartOptions({ nodes: '5', clean: true, dataDir: './d', portOffset: '200' }, where)).toEqual({ kind: 'ok', value: { nodeCount: 5, clean: true, dataDir: '/work/repo/d', portOffset: 200 } })
    expect(parseStartOptions({}, where)).toEqual({ kind: 'ok', value: { nodeCount: null, clean: false, dataDir: '/work/repo/data', portOffset: null } })
  })

  it('refuses a --port-offset that is not a small number', () => {
    for (const raw of ['-1', '10001', 'x', '']) {
      expect(parseStartOptions({ portOffset: raw }, where)).toEqual({ kind: 'error', message: `--port-offset: '${raw}' is not a number from 0 to 10000` })
    }
  })

  it('reads a node id for kill / stop / restart', () => {
    expect(parseNodeId('2')).toEqual({ kind: 'ok', value: 2 })
    for (const raw of ['0', '-1', 'two', '1.5']) expect(parseNodeId(raw)).toEqual({ kind: 'error', message: `'${raw}' is not a node id (a positive integer: 1, 2, ...)` })
  })

  it('checks the clean target only with --clean (a cluster may live anywhere; wiping is what needs care)', () => {
    expect(parseStartOptions({ clean: true, dataDir: '..' }, { ...where, cwd: '/home/dev/data' })).toEqual({ kind: 'error', message: '--clean: refusing to clean the home directory (--data-dir /home/dev)' })
    expect(parseStartOptions({ clean: true, dataDir: '../..' }, where)).toEqual({ kind: 'error', message: '--clean: refusing to clean the filesystem root (--data-dir /)' })
    expect(parseStartOptions({ clean: false, dataDir: '../..' }, where).kind).toBe('ok')
  })

  it('reports a bad --nodes before anything else', () => {
    expect(parseStartOptions({ nodes: '0', clean: true, dataDir: '/' }, where)).toEqual({ kind: 'error', message: "--nodes: '0' is not a node count from 1 to 9" })
  })
})
