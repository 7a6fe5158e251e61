import { describe, expect, it } from 'vitest'
import { planLocalCluster } from './cluster-plan.js'
import { parseClusterState, serializeClusterState, type ClusterState } from './cluster-state.js'

const plan = planLocalCluster(3, '/r/data')
const state: ClusterState = {
  version: 1,
  launcherPid: 4000,
  startedAt: '2026-11-24T02:39:38.997Z',
  dataDir: plan.dataDir,
  bootstrapControllers: plan.bootstrapControllers,
  nodes: plan.nodes.map((n) => ({
    id: n.id,
    pid: 4000 + n.id,
    host: n.host,
    ports: n.ports,
    dataDir: n.dataDir,
    startedAt: '2026-11-24T02:39:39.004Z',
    overrides: n.overrides,
    exit: n.id === 2 ? { code: 1, signal: null, at: '2026-11-24T02:40:00.000Z' } : null,
  })),
}
const FILE = './data/cluster.json'

/** The state as JSON with one field replaced by `edit`. */
function edited(edit: (json: Record<string, unknown> & { nodes: Record<string, unknown>[] }) => void): string {
  const json = JSON.parse(serializeClusterState(state)) as Record<string, unknown> & { nodes: Record<string, unknown>[] }
  edit(json)
  return JSON.stringify(json)
}

function errorOf(content: string): string {
  const parsed = parseClusterState(content, FILE)
  if (parsed.kind !== 'error') throw new Error(`expected an error, parsed ${JSON.stringify(parsed.value)}`)
  return parsed.message
}

describe('cluster state file', () => {
  it('round-trips what the launcher writes', () => {
    expect(parseClusterState(serializeClusterState(state), FILE)).toEqual({ kind: 'ok', value: state })
  })

  it('reports a truncated file as invalid JSON, naming the file', () => {
    const text = serializeClusterState(state)
    expect(errorOf(text.slice(0, text.length / 2))).toMatch(/^\.\/data\/cluster\.json is not valid JSON \(.+\)$/)
    expect(errorOf('')).toMatch(/^\.\/data\/cluster\.json is not valid JSON/)
  })

  it.each<[string, (j: Record<string, unknown> & { nodes: Record<string, unknown>[] }) => void, string]>([
    ['a top level that is not an object', (j) => { for (const k of Object.keys(j)) delete j[k] }, 'version must be 1 (got undefined)'],
    ['another version', (j) => (j.version = 2), 'version must be 1 (got 2)'],
    ['a pid that is a string', (j) => (j.nodes[1]!.pid = '4002'), 'nodes[1].pid must be a positive integer (got "4002")'],
    ['a negative pid', (j) => (j.nodes[0]!.pid = -1), 'nodes[0].pid must be a positive integer (got -1)'],
    ['a port out of range', (j) => (j.nodes[2]!.ports = { controller: 70000 }), 'nodes[2].ports.controller must be a port number (got 70000)'],
    ['missing ports', (j) => delete j.nodes[0]!.ports, 'nodes[0].ports must be an object (got undefined)'],
    ['a bad start time', (j) => (j.nodes[0]!.startedAt = 'yesterday'), 'nodes[0].startedAt must be an ISO 8601 time (got "yesterday")'],
    ['overrides that are not strings', (j) => (j.nodes[0]!.overrides = ['node.id=1', 2]), 'nodes[0].overrides must be an array of strings (got ["node.id=1",2])'],
    ['a missing exit', (j) => delete j.nodes[0]!.exit, 'nodes[0].exit is missing (null while running)'],
    ['an exit code that is not an integer', (j) => (j.nodes[1]!.exit = { code: 'x', signal: null, at: '2026-11-24T02:40:00.000Z' }), 'nodes[1].exit.code must be an integer or null (got "x")'],
    ['no nodes', (j) => (j.nodes = []), 'nodes must be a non-empty array (got [])'],
    ['a node id twice', (j) => (j.nodes[2]!.id = 1), 'nodes[2].id 1 appears twice'],
    ['a missing launcher pid', (j) => delete j.launcherPid, 'launcherPid must be a positive integer (got undefined)'],
    ['an empty data dir', (j) => (j.dataDir = ''), 'dataDir must be a non-empty string (got "")'],
  ])('refuses %s, naming the field', (_what, edit, message) => {
    expect(errorOf(edited(edit))).toBe(`./data/cluster.json is not a valid cluster state file: ${message}`)
  })

  it('refuses JSON that is not an object at all', () => {
    expect(errorOf('[1,2]')).toBe('./data/cluster.json is not a valid cluster state file: the top level must be an object (got [1,2])')
    expect(errorOf('null')).toBe('./data/cluster.json is not a valid cluster state file: the top level must be an object (got null)')
  })
})
