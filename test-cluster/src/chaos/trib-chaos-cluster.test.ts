import { describe, expect, it } from 'vitest'
import { parseTribStatus } from './trib-chaos-cluster.ts'

describe('parseTribStatus', () => {
  it('reads the fields the runner needs from `trib cluster status --json` and ignores the rest', () => {
    const text = JSON.stringify({
      dataDir: '/d', launcher: { pid: 1, up: true }, activeController: 2, healthy: false, metadataError: null,
      nodes: [
        { id: 1, roles: ['broker', 'controller'], pid: 10, up: true, paused: true, brokerAddress: 'localhost:9092', controllerAddress: 'localhost:19092', activeController: false, leads: [], later: 'field' },
        { id: 2, roles: ['controller'], pid: 11, up: false, paused: false, brokerAddress: null, controllerAddress: 'localhost:19093', activeController: true, leads: [] },
      ],
    })
    expect(parseTribStatus(text)).toEqual({
      dataDir: '/d', activeController: 2,
      nodes: [{ id: 1, pid: 10, up: true, paused: true, brokerAddress: 'localhost:9092' }, { id: 2, pid: 11, up: false, paused: false, brokerAddress: null }],
    })
  })

  it('refuses what is not a status document', () => {
    expect(() => parseTribStatus('[]')).toThrow(/no dataDir or nodes/)
    expect(() => parseTribStatus(JSON.stringify({ dataDir: '/d', nodes: [{ up: true }] }))).toThrow(/without id/)
  })
})
