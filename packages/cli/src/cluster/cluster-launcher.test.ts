import { describe, expect, it } from 'vitest'
import { staleClusterMessage } from './cluster-launcher.js'

describe('staleClusterMessage', () => {
  it('tells the user to stop a live launcher', () => {
    expect(staleClusterMessage('.trib', 100, true, [{ id: 1, pid: 101 }])).toBe(
      'a local cluster is already running from .trib (launcher pid 100; node 1 pid 101); stop it first (Ctrl-C in its terminal, or kill 100)',
    )
  })

  it('names the live node pids, not a dead launcher\'s', () => {
    const message = staleClusterMessage('.trib', 100, false, [{ id: 1, pid: 101 }, { id: 3, pid: 103 }])
    expect(message).toBe(
      'nodes of a local cluster from .trib are still running without their launcher (node 1 pid 101, node 3 pid 103); stop them first (npx trib cluster stop 1 --data-dir .trib; npx trib cluster stop 3 --data-dir .trib; or kill 101 103)',
    )
    expect(staleClusterMessage('./data', 100, false, [{ id: 2, pid: 102 }])).toContain('(npx trib cluster stop 2; or kill 102)')
    expect(message).not.toMatch(/\b100\b/)
  })
})
