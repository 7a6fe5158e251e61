/**
 * Kafka's named listeners (KIP-103) through the `trib` bin, as docker-compose.yml uses them:
 * three `trib server` processes, each with INTERNAL (inter.broker.listener.name, advertised
 * as 127.0.0.1) and EXTERNAL (advertised as localhost) broker listeners. The SDK,
 * bootstrapped from one EXTERNAL address, is told only EXTERNAL addresses, and produces
 * (acks=all, RF 3: the followers replicate over INTERNAL) and consumes in a group through them;
 * a Metadata request on INTERNAL names the INTERNAL addresses. Assumes `tsc -b` has built
 * packages/cli/dist.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@tributary/client'
import { broker } from '@tributary/protocol'
import { REPO_ROOT, TRIB_BIN, freePort, nodeBinary } from './src/controller-cluster.js'

interface NodePorts {
  readonly id: number
  readonly internal: number
  readonly external: number
  readonly controller: number
}

interface Running {
  readonly child: ChildProcessByStdio<null, Readable, Readable>
  readonly output: () => string
  readonly exited: Promise<number | string | null>
}

const IDS = [1, 2, 3]
const START_TIMEOUT_MS = 30_000

function startServer(node: NodePorts, voters: string, dir: string): Running {
  const overrides = [
    `node.id=${node.id}`,
    'process.roles=broker,controller',
    `controller.quorum.voters=${voters}`,
    `listeners=INTERNAL://127.0.0.1:${node.internal},EXTERNAL://127.0.0.1:${node.external},CONTROLLER://127.0.0.1:${node.controller}`,
    `advertised.listeners=INTERNAL://127.0.0.1:${node.internal},EXTERNAL://localhost:${node.external}`,
    'listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=INTERNAL',
    `log.dirs=${join(dir, `node-${node.id}`)}`,
    'broker.heartbeat.interval.ms=100',
    'replica.fetch.wait.max.ms=100',
    'offsets.topic.num.partitions=1',
    'group.consumer.heartbeat.interval.ms=500',
    'log.flush.policy=page-cache',
  ]
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRIB_')))
  const child = spawn(nodeBinary(), [TRIB_BIN, 'server', ...overrides.flatMap((o) => ['--override', o])], { cwd: REPO_ROOT, env: base, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr.on('data', (c: Buffer) => (output += c.toString()))
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  return { child, output: () => output, exited }
}

async function waitFor(probe: () => boolean, what: string, dump: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${dump()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

function metadataOn(port: number): Promise<broker.MetadataResponse> {
  const c = new broker.BrokerServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  return new Promise<broker.MetadataResponse>((resolve, reject) =>
    c.metadata({ topics: [], allTopics: false }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, res) => (err === null ? resolve(res) : reject(err))),
  ).finally(() => c.close())
}

describe('named listeners through trib server (INTERNAL between brokers, EXTERNAL for clients)', () => {
  let dir = ''
  const nodes: NodePorts[] = []
  const running = new Map<number, Running>()
  const dump = (): string => [...running].map(([id, r]) => `--- node ${id}\n${r.output()}`).join('\n')

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-listeners-'))
    for (const id of IDS) nodes.push({ id, internal: await freePort(), external: await freePort(), controller: await freePort() })
    const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controller}`).join(',')
    for (const n of nodes) running.set(n.id, startServer(n, voters, dir))
    for (const n of nodes) await waitFor(() => running.get(n.id)!.output().includes('broker unfenced: serving'), `node ${n.id} to be unfenced`, dump)
  }, START_TIMEOUT_MS + 10_000)

  afterAll(async () => {
    for (const r of running.values()) r.child.kill('SIGTERM')
    await Promise.all([...running.values()].map((r) => r.exited))
    running.clear()
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  }, 30_000)

  it('says it serves both broker listeners, and answers Metadata on each with that listener\'s addresses', async () => {
    for (const n of nodes) {
      const out = running.get(n.id)!.output()
      expect(out).toContain(`broker on INTERNAL://127.0.0.1:${n.internal}, EXTERNAL://127.0.0.1:${n.external}`)
      expect(out).toContain(`INTERNAL://127.0.0.1:${n.internal}, EXTERNAL://localhost:${n.external}`)
    }
    const byId = (m: broker.MetadataResponse): string[] => m.brokers.slice().sort((a, b) => a.nodeId - b.nodeId).map((b) => `${b.nodeId}@${b.host}:${b.port}`)
    expect(byId(await metadataOn(nodes[0]!.internal))).toEqual(nodes.map((n) => `${n.id}@127.0.0.1:${n.internal}`))
    expect(byId(await metadataOn(nodes[1]!.external))).toEqual(nodes.map((n) => `${n.id}@localhost:${n.external}`))
  })

  it('a client bootstrapped from one EXTERNAL address produces (acks=all, RF 3) and consumes in a group', async () => {
    const client = new Client({ bootstrap: [`localhost:${nodes[0]!.external}`], clientId: 'listeners-test' })
    try {
      const cluster = await client.admin().describeCluster()
      expect(cluster.brokers.map((b) => `${b.host}:${b.port}`).sort()).toEqual(nodes.map((n) => `localhost:${n.external}`).sort())
      await client.admin().createTopics([{ name: 'orders', partitions: 3, replicationFactor: 3 }])
      const producer = client.producer({ acks: 'all' })
      const values = Array.from({ length: 30 }, (_, i) => `v${i}`)
      await producer.send('orders', values.map((v, i) => ({ key: `k${i}`, value: v })))
      const consumer = client.consumer({ groupId: 'listeners', fromBeginning: true })
      await consumer.subscribe(['orders'])
      const seen: string[] = []
      for await (const r of consumer) {
        seen.push(r.value?.toString() ?? 'null')
        if (seen.length === values.length) break
      }
      expect(seen.sort()).toEqual(values.slice().sort())
      await consumer.close()
    } finally {
      await client.close()
    }
  }, 60_000)
})
