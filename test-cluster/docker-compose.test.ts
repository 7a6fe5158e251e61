/**
 * docker-compose.yml cannot run here (no Docker), so this test reads it and checks what can
 * be checked without it: three nodes whose ids, ports and voters are the local cluster's
 * defaults (cluster-defaults.ts / cluster-plan.ts, what `npm start` runs), with the same
 * `trib server` flags, container names equal to host names, Kafka's two named broker
 * listeners (INTERNAL advertised as trib-N:29092 for the compose network and used between
 * brokers, EXTERNAL advertised as localhost:909N and published under the same number for the
 * host), and a configuration that `trib server`'s own parser accepts and maps onto startNode.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { BROKER_PORT_BASE, CONTROLLER_PORT_BASE, DEFAULT_NODE_COUNT } from '../packages/cli/src/cluster/cluster-defaults.js'
import { planLocalCluster } from '../packages/cli/src/cluster/cluster-plan.js'
import pino from 'pino'
import { nodeConfigOf } from '../packages/cli/src/server/server-command.js'
import { advertisedEndpoint, brokerListener, brokerListeners, controllerListener, parseServerConfig } from '../packages/cli/src/server/server-config.js'
import { REPO_ROOT } from './src/controller-cluster.js'

interface Service {
  readonly container_name?: unknown
  readonly hostname?: unknown
  readonly command?: unknown
  readonly ports?: unknown
  readonly volumes?: unknown
  readonly build?: unknown
  readonly image?: unknown
}

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services?: Record<string, Service> }
const services = compose.services ?? {}
const names = Object.keys(services).sort()
const ids = Array.from({ length: DEFAULT_NODE_COUNT }, (_, i) => i + 1)
/** The INTERNAL listener's port: the same in every container (each has its own address). */
const INTERNAL_PORT = 29092
/** The keys compose adds to npm start's: Kafka's named-listener layout. */
const LISTENER_KEYS = ['advertised.listeners', 'listener.security.protocol.map', 'inter.broker.listener.name', 'controller.listener.names']

/** The `--override key=value` pairs of a service's command, after `server`. */
function overridesOf(service: Service): Map<string, string> {
  const command = service.command
  if (!Array.isArray(command) || !command.every((c): c is string => typeof c === 'string')) throw new Error('command must be a list of strings')
  expect(command[0]).toBe('server')
  const out = new Map<string, string>()
  for (let i = 1; i < command.length; i += 2) {
    expect(command[i], `argument ${i} of ${command.join(' ')}`).toBe('--override')
    const pair = command[i + 1]!
    const eq = pair.indexOf('=')
    out.set(pair.slice(0, eq), pair.slice(eq + 1))
  }
  return out
}

describe('docker-compose.yml', () => {
  it('runs one service per local node, named trib-N, container name = host name', () => {
    expect(names).toEqual(ids.map((id) => `trib-${id}`))
    for (const name of names) {
      expect(services[name]!.container_name, name).toBe(name)
      expect(services[name]!.hostname, name).toBe(name)
      expect(services[name]!.build, name).toBe('.')
    }
  })

  it('gives each node the flags npm start gives it, with the local ports and voters, on the container names', () => {
    const local = planLocalCluster(DEFAULT_NODE_COUNT, '/data')
    const voters = ids.map((id) => `${id}@trib-${id}:${CONTROLLER_PORT_BASE + id}`).join(',')
    for (const id of ids) {
      const name = `trib-${id}`
      const o = overridesOf(services[name]!)
      const plan = local.nodes[id - 1]!
      const localKeys = plan.overrides.map((p) => p.slice(0, p.indexOf('=')))
      // The same keys as npm start, plus the named listeners.
      expect([...o.keys()].sort(), name).toEqual([...localKeys, ...LISTENER_KEYS].sort())
      expect(o.get('node.id'), name).toBe(String(id))
      expect(`process.roles=${o.get('process.roles')}`).toBe(plan.overrides.find((p) => p.startsWith('process.roles='))!)
      expect(o.get('controller.quorum.voters'), name).toBe(voters)
      // The voters list the local cluster's ids and ports; only the host differs.
      expect(o.get('controller.quorum.voters')!.replace(/trib-\d/g, 'localhost')).toBe(plan.overrides.find((p) => p.startsWith('controller.quorum.voters='))!.split('=')[1])
      expect(o.get('listeners'), name).toBe(`INTERNAL://0.0.0.0:${INTERNAL_PORT},EXTERNAL://0.0.0.0:${BROKER_PORT_BASE + id},CONTROLLER://0.0.0.0:${CONTROLLER_PORT_BASE + id}`)
      expect(o.get('advertised.listeners'), name).toBe(`INTERNAL://${name}:${INTERNAL_PORT},EXTERNAL://localhost:${BROKER_PORT_BASE + id}`)
      expect(o.get('listener.security.protocol.map'), name).toBe('INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT')
      expect(o.get('inter.broker.listener.name'), name).toBe('INTERNAL')
      expect(o.get('controller.listener.names'), name).toBe('CONTROLLER')
      expect(o.get('log.dirs'), name).toBe(`/data/node-${id}`)
    }
  })

  it('publishes each node\'s EXTERNAL and controller ports under the same numbers (INTERNAL stays in the network), and keeps its data in a volume', () => {
    for (const id of ids) {
      const s = services[`trib-${id}`]!
      expect(s.ports).toEqual([`${BROKER_PORT_BASE + id}:${BROKER_PORT_BASE + id}`, `${CONTROLLER_PORT_BASE + id}:${CONTROLLER_PORT_BASE + id}`])
      expect(s.volumes).toEqual([`trib-${id}-data:/data`])
    }
  })

  it('is a configuration trib server accepts: brokers replicate over INTERNAL, the host reaches EXTERNAL on the published ports', () => {
    for (const id of ids) {
      const name = `trib-${id}`
      const o = overridesOf(services[name]!)
      const result = parseServerConfig({ overrides: [...o].map(([k, v]) => `${k}=${v}`), env: {} })
      if (result.kind === 'error') throw new Error(`${name}: ${result.message}`)
      const config = result.config
      expect(brokerListener(config), name).toEqual({ name: 'INTERNAL', host: '0.0.0.0', port: INTERNAL_PORT })
      expect(controllerListener(config)?.port, name).toBe(CONTROLLER_PORT_BASE + id)
      expect(brokerListeners(config).map((l) => [l.name, advertisedEndpoint(config, l)]), name).toEqual([
        ['INTERNAL', { host: name, port: INTERNAL_PORT }],
        ['EXTERNAL', { host: 'localhost', port: BROKER_PORT_BASE + id }],
      ])
      // What startNode gets: INTERNAL as the inter-broker listener, EXTERNAL served and registered beside it.
      const broker = nodeConfigOf(config, pino({ level: 'silent' })).broker!
      expect(broker.listener, name).toEqual({ name: 'INTERNAL', host: '0.0.0.0', port: INTERNAL_PORT })
      expect(broker.advertised, name).toEqual({ host: name, port: INTERNAL_PORT })
      expect(broker.additionalListeners, name).toEqual([{ name: 'EXTERNAL', host: '0.0.0.0', port: BROKER_PORT_BASE + id, advertised: { host: 'localhost', port: BROKER_PORT_BASE + id } }])
    }
  })

  it('has a Dockerfile whose image runs trib', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')
    expect(dockerfile).toMatch(/^ENTRYPOINT \["trib"\]$/m)
    expect(dockerfile).toMatch(/npm ci/)
    for (const id of ids) expect(dockerfile).toContain(String(BROKER_PORT_BASE + id))
  })
})
