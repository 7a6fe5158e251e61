import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { askLauncher, controlSocketPath, listenControlSocket, parseControlAnswer, parseControlRequest } from './control-socket.js'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-control-'))
  dirs.push(d)
  return d
}

function rawRequest(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    const s = createConnection(path, () => s.write(text))
    s.setEncoding('utf8')
    s.on('data', (c: string) => (got += c))
    s.on('end', () => resolve(got))
    s.on('error', reject)
  })
}

describe('control socket', () => {
  it('lives in the data dir, or in the temp dir when that path is too long for a Unix socket', () => {
    expect(controlSocketPath('/srv/data')).toBe('/srv/data/launcher.sock')
    const deep = `/srv/${'x'.repeat(120)}`
    expect(controlSocketPath(deep)).toMatch(new RegExp(`^${tmpdir()}/trib-launcher-[0-9a-f]{16}\\.sock$`))
    expect(controlSocketPath(deep)).toBe(controlSocketPath(deep))
  })

  it('parses requests and answers strictly', () => {
    expect(parseControlRequest('{"op":"restart","id":2}')).toEqual({ kind: 'ok', value: { op: 'restart', id: 2 } })
    expect(parseControlRequest('{"op":"restart","id":0}')).toEqual({ kind: 'error', message: 'id must be a node id' })
    expect(parseControlRequest('{"op":"format","id":1}')).toEqual({ kind: 'error', message: 'unknown op "format" (known: restart)' })
    expect(parseControlRequest('[1]').kind).toBe('error')
    expect(parseControlAnswer('{"ok":true,"id":2,"pid":42,"stopped":{"pid":41,"how":"SIGTERM"}}')).toEqual({ kind: 'ok', value: { ok: true, id: 2, pid: 42, stopped: { pid: 41, how: 'SIGTERM' } } })
    expect(parseControlAnswer('{"ok":false,"error":"no"}')).toEqual({ kind: 'ok', value: { ok: false, error: 'no' } })
    expect(parseControlAnswer('{"ok":true,"id":2}').kind).toBe('error')
  })

  it('carries a request to the launcher and its answer back; a bad request is answered, not fatal', async () => {
    const dir = await tempDir()
    const path = controlSocketPath(dir)
    // A stale socket file of a SIGKILLed launcher is replaced.
    await writeFile(path, '')
    const seen: number[] = []
    const server = await listenControlSocket(path, async (request) => {
      seen.push(request.id)
      return request.id === 9 ? { ok: false, error: 'no node 9' } : { ok: true, id: request.id, pid: 1000 + request.id, stopped: null }
    })
    try {
      expect(await askLauncher(path, { op: 'restart', id: 2 }, 2000)).toEqual({ kind: 'answer', answer: { ok: true, id: 2, pid: 1002, stopped: null } })
      expect(await askLauncher(path, { op: 'restart', id: 9 }, 2000)).toEqual({ kind: 'answer', answer: { ok: false, error: 'no node 9' } })
      expect(JSON.parse(await rawRequest(path, 'nonsense\n'))).toEqual({ ok: false, error: 'the request is not a JSON object' })
      expect(JSON.parse(await rawRequest(path, 'x'.repeat(2000)))).toEqual({ ok: false, error: 'request longer than 1024 bytes' })
      expect(seen).toEqual([2, 9])
    } finally {
      await server.close()
    }
    expect(await askLauncher(path, { op: 'restart', id: 2 }, 2000)).toEqual({ kind: 'no-launcher', reason: `nothing listens on ${path}` })
  })
})
