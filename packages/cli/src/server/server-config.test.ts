import { describe, expect, it } from 'vitest'
import { controllerListener, envNameOf, parseServerConfig, type ConfigResult, type ConfigSources } from './server-config.js'
import { parseProperties } from './properties-file.js'

const CONTROLLER_FILE = `
# a three-voter controller quorum, node 1
node.id=1
process.roles=controller
controller.quorum.voters=1@localhost:19092,2@localhost:19093,3@localhost:19094
listeners=CONTROLLER://localhost:19092
log.dirs=/tmp/trib-1
`

function parse(sources: ConfigSources): ConfigResult {
  return parseServerConfig(sources)
}

function expectOk(result: ConfigResult) {
  if (result.kind !== 'ok') throw new Error(`expected ok, got: ${result.message}`)
  return result.config
}

function expectError(result: ConfigResult, key: string, message: RegExp): void {
  expect(result.kind).toBe('error')
  if (result.kind !== 'error') return
  expect(result.key).toBe(key)
  expect(result.message).toMatch(message)
  expect(result.message).toContain(key)
  expect(result.message).not.toContain('\n')
}

describe('parseServerConfig', () => {
  it('reads a controller file with Kafka key names, and fills the safe defaults', () => {
    const config = expectOk(parse({ file: { name: 'server.properties', text: CONTROLLER_FILE } }))
    expect(config.nodeId).toBe(1)
    expect(config.processRoles).toEqual(['controller'])
    expect(config.controllerQuorumVoters).toEqual([
      { id: 1, host: 'localhost', port: 19092 },
      { id: 2, host: 'localhost', port: 19093 },
      { id: 3, host: 'localhost', port: 19094 },
    ])
    expect(controllerListener(config)).toEqual({ name: 'CONTROLLER', host: 'localhost', port: 19092 })
    expect(config.logDirs).toEqual(['/tmp/trib-1'])
    expect(config.defaultReplicationFactor).toBe(3)
    expect(config.minInsyncReplicas).toBe(2)
    expect(config.uncleanLeaderElectionEnable).toBe(false)
    expect(config.numPartitions).toBe(1)
    // Kafka's snapshot policy defaults: 20 MiB of records, or one hour.
    expect(config.metadataLogMaxRecordBytesBetweenSnapshots).toBe(20 * 1024 * 1024)
    expect(config.metadataLogMaxSnapshotIntervalMs).toBe(3_600_000)
  })

  it('reads the metadata snapshot policy keys, and 0 for the interval (time trigger off)', () => {
    const config = expectOk(parse({
      file: { name: 'f', text: CONTROLLER_FILE + 'metadata.log.max.record.bytes.between.snapshots=1048576\n' },
      env: { TRIB_METADATA_LOG_MAX_SNAPSHOT_INTERVAL_MS: '0' },
    }))
    expect(config.metadataLogMaxRecordBytesBetweenSnapshots).toBe(1048576)
    expect(config.metadataLogMaxSnapshotIntervalMs).toBe(0)
  })

  it('computes min.insync.replicas 1 when the replication factor is below 3', () => {
    const config = expectOk(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['default.replication.factor=2'] }))
    expect(config.minInsyncReplicas).toBe(1)
  })

  it('defaults log.dirs to ./data/node-<id> and accepts log.dir as its alias', () => {
    const text = CONTROLLER_FILE.replace('log.dirs=/tmp/trib-1\n', '')
    expect(expectOk(parse({ file: { name: 'f', text } })).logDirs).toEqual(['./data/node-1'])
    expect(expectOk(parse({ file: { name: 'f', text: text + 'log.dir=/var/trib\n' } })).logDirs).toEqual(['/var/trib'])
  })

  it('lets the environment override the file and --override override both', () => {
    const env = { TRIB_NUM_PARTITIONS: '6', TRIB_LOG_DIRS: '/env/dir', PATH: '/usr/bin', HOME: '/root' }
    const config = expectOk(parse({ file: { name: 'f', text: CONTROLLER_FILE + 'num.partitions=3\n' }, env, overrides: ['num.partitions=9'] }))
    expect(config.numPartitions).toBe(9)
    expect(config.logDirs).toEqual(['/env/dir'])
  })

  it('builds a whole config from the environment alone', () => {
    const env = {
      TRIB_NODE_ID: '2',
      TRIB_PROCESS_ROLES: 'controller',
      TRIB_CONTROLLER_QUORUM_VOTERS: '1@a:1,2@b:2,3@c:3',
      TRIB_LISTENERS: 'CONTROLLER://:2',
      TRIB_CONTROLLER_QUORUM_FETCH_TIMEOUT_MS: '2000',
    }
    const config = expectOk(parse({ env }))
    expect(config.nodeId).toBe(2)
    expect(config.quorumFetchTimeoutMs).toBe(2000)
    expect(controllerListener(config)).toEqual({ name: 'CONTROLLER', host: '', port: 2 })
  })

  it('names TRIB_ variables after the key', () => {
    expect(envNameOf('controller.quorum.election.backoff.max.ms')).toBe('TRIB_CONTROLLER_QUORUM_ELECTION_BACKOFF_MAX_MS')
  })

  describe('refuses, with one line naming the key', () => {
    it('an unknown key in the file, with its line', () => {
      expectError(parse({ file: { name: 'server.properties', text: CONTROLLER_FILE + 'log.retention.hourz=3\n' } }), 'log.retention.hourz', /unknown config key.*server\.properties:8/)
    })
    it('an unknown key in an override', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['nod.id=3'] }), 'nod.id', /unknown config key 'nod\.id' \(--override\)/)
    })
    it('an unknown TRIB_ variable', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, env: { TRIB_NODE_IDD: '1' } }), 'TRIB_NODE_IDD', /unknown config variable TRIB_NODE_IDD/)
    })
    it('an override without =', () => {
      const result = parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['node.id'] })
      expect(result.kind === 'error' && result.message).toMatch(/not key=value/)
    })
    it('a non-numeric node.id, saying where it came from', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, env: { TRIB_NODE_ID: 'one' } }), 'node.id', /invalid value 'one' for node\.id \(TRIB_NODE_ID\)/)
    })
    it('a negative or fractional number', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['num.partitions=0'] }), 'num.partitions', /between 1 and/)
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['broker.session.timeout.ms=1.5'] }), 'broker.session.timeout.ms', /integer/)
    })
    it('a bad boolean', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['unclean.leader.election.enable=yes'] }), 'unclean.leader.election.enable', /true or false/)
    })
    it('an unknown role', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['process.roles=controller,zookeeper'] }), 'process.roles', /'zookeeper' is not a role/)
    })
    it('malformed voters', () => {
      for (const voters of ['1@localhost', '1:localhost:1', 'x@h:1', '1@h:99999', '1@h:1,1@h:2', '']) {
        expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: [`controller.quorum.voters=${voters}`] }), 'controller.quorum.voters', /./)
      }
    })
    it('a missing node.id', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE.replace('node.id=1', '') } }), 'node.id', /missing required config node\.id/)
    })
    it('a controller whose node.id is not a voter', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['node.id=4'] }), 'node.id', /node\.id 4 is not in controller\.quorum\.voters \(1,2,3\)/)
    })
    it('a controller without a controller listener', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['listeners=PLAINTEXT://:9092'] }), 'listeners', /controller\.listener\.names/)
    })
    it('two listeners on one port, and a malformed listener', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['listeners=CONTROLLER://:1,PLAINTEXT://:1'] }), 'listeners', /port 1 is used by two/)
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['listeners=CONTROLLER:localhost:1'] }), 'listeners', /NAME:\/\/host:port/)
    })
    it('an advertised listener that is not a listener', () => {
      expectError(parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['advertised.listeners=PLAINTEXT://h:9092'] }), 'advertised.listeners', /not in listeners/)
    })
    it('a snapshot byte interval below 1, or a negative snapshot time interval', () => {
      for (const value of ['0', '-1', '1.5', '20MiB']) {
        expectError(
          parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: [`metadata.log.max.record.bytes.between.snapshots=${value}`] }),
          'metadata.log.max.record.bytes.between.snapshots',
          /integer between 1 and/,
        )
      }
      expectError(
        parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['metadata.log.max.snapshot.interval.ms=-1'] }),
        'metadata.log.max.snapshot.interval.ms',
        /invalid value '-1' .*\(--override\): must be an integer between 0 and/,
      )
    })
    it('an election timeout not below the fetch timeout', () => {
      expectError(
        parse({ file: { name: 'f', text: CONTROLLER_FILE }, overrides: ['controller.quorum.fetch.timeout.ms=1000', 'controller.quorum.election.timeout.ms=1000'] }),
        'controller.quorum.election.timeout.ms',
        /must be below/,
      )
    })
  })
})

describe('parseProperties', () => {
  it('follows java.util.Properties for separators, comments, continuations and escapes', () => {
    const text = ['# comment', '! also a comment', '  a=1', 'b : 2', 'c 3', 'd=x\\', '   y', 'e=tab\\there', 'f=\\u0041', 'a=last'].join('\n')
    expect(parseProperties(text).map(({ key, value }) => [key, value])).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
      ['d', 'xy'],
      ['e', 'tab\there'],
      ['f', 'A'],
      ['a', 'last'],
    ])
  })

  it('keeps the line number of each entry', () => {
    expect(parseProperties('\n\nk=v\n').map((e) => e.line)).toEqual([3])
  })
})
