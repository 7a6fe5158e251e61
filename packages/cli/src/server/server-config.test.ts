import { describe, expect, it } from 'vitest'
import { advertisedEndpoint, brokerListener, brokerListeners, controllerListener, envNameOf, parseServerConfig, type ConfigResult, type ConfigSources } from './server-config.js'
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

const COMBINED_FILE = `
node.id=2
process.roles=broker,controller
controller.quorum.voters=1@localhost:19092,2@localhost:19093,3@localhost:19094
listeners=PLAINTEXT://:9093,CONTROLLER://localhost:19093
log.dirs=/tmp/trib-2
`

describe('parseServerConfig: broker keys', () => {
  it('reads a combined node: the broker listener is the first that is not a controller listener', () => {
    const config = expectOk(parse({ file: { name: 'f', text: COMBINED_FILE } }))
    expect(config.processRoles).toEqual(['broker', 'controller'])
    const broker = brokerListener(config)!
    expect(broker).toEqual({ name: 'PLAINTEXT', host: '', port: 9093 })
    expect(advertisedEndpoint(config, broker)).toEqual({ host: 'localhost', port: 9093 })
    expect(controllerListener(config)).toEqual({ name: 'CONTROLLER', host: 'localhost', port: 19093 })
    const advertised = expectOk(parse({ file: { name: 'f', text: COMBINED_FILE }, overrides: ['advertised.listeners=PLAINTEXT://node2.example:19999'] }))
    expect(advertisedEndpoint(advertised, brokerListener(advertised)!)).toEqual({ host: 'node2.example', port: 19999 })
  })

  it('fills Kafka\'s broker defaults, with fsync durability and unclean election off', () => {
    const config = expectOk(parse({ file: { name: 'f', text: COMBINED_FILE } }))
    expect(config).toMatchObject({
      logFlushPolicy: 'fsync',
      logRetentionMs: 168 * 3_600_000,
      logRollMs: 168 * 3_600_000,
      logRetentionBytes: -1,
      logRetentionCheckIntervalMs: 300_000,
      messageMaxBytes: 1048588,
      replicaLagTimeMaxMs: 30_000,
      replicaFetchWaitMaxMs: 500,
      replicaFetchMaxBytes: 1048576,
      replicaFetchResponseMaxBytes: 10485760,
      brokerSessionTimeoutMs: 9000,
      brokerHeartbeatIntervalMs: 500,
      uncleanLeaderElectionEnable: false,
      autoLeaderRebalanceEnable: true,
      leaderImbalanceCheckIntervalSeconds: 2,
      clusterId: null,
      interBrokerListenerName: null,
    })
  })

  it('reads every broker key, and retention and roll by their Kafka precedence (ms, minutes, hours)', () => {
    const config = expectOk(parse({
      file: { name: 'f', text: COMBINED_FILE },
      overrides: [
        'log.flush.policy=page-cache', 'log.retention.hours=1', 'log.roll.hours=2', 'log.retention.bytes=1000000', 'log.retention.check.interval.ms=1000',
        'message.max.bytes=2000000', 'replica.lag.time.max.ms=5000', 'replica.fetch.wait.max.ms=100', 'replica.fetch.max.bytes=4194304',
        'broker.session.timeout.ms=3000', 'broker.heartbeat.interval.ms=250', 'unclean.leader.election.enable=false', 'cluster.id=MkU3OEVBNTcwNTJENDM2Qk',
        'auto.leader.rebalance.enable=false', 'leader.imbalance.check.interval.seconds=5', 'log.segment.bytes=1048576',
      ],
    }))
    expect(config).toMatchObject({
      logFlushPolicy: 'page-cache', logRetentionMs: 3_600_000, logRollMs: 7_200_000, logRetentionBytes: 1_000_000, logRetentionCheckIntervalMs: 1000,
      messageMaxBytes: 2_000_000, replicaLagTimeMaxMs: 5000, replicaFetchWaitMaxMs: 100, replicaFetchMaxBytes: 4194304, brokerSessionTimeoutMs: 3000,
      brokerHeartbeatIntervalMs: 250, clusterId: 'MkU3OEVBNTcwNTJENDM2Qk', autoLeaderRebalanceEnable: false, leaderImbalanceCheckIntervalSeconds: 5, logSegmentBytes: 1048576,
    })
    const minutes = expectOk(parse({ file: { name: 'f', text: COMBINED_FILE }, overrides: ['log.retention.hours=1', 'log.retention.minutes=5'] }))
    expect(minutes.logRetentionMs).toBe(300_000)
    const ms = expectOk(parse({ file: { name: 'f', text: COMBINED_FILE }, overrides: ['log.retention.minutes=5', 'log.retention.ms=-1', 'log.roll.ms=60000'] }))
    expect(ms.logRetentionMs).toBe(-1)
    expect(ms.logRollMs).toBe(60_000)
  })

  it('accepts a broker-only node that is not a voter', () => {
    const text = COMBINED_FILE.replace('node.id=2', 'node.id=4').replace('process.roles=broker,controller', 'process.roles=broker').replace(',CONTROLLER://localhost:19093', '')
    const config = expectOk(parse({ file: { name: 'f', text } }))
    expect(config.processRoles).toEqual(['broker'])
    expect(brokerListener(config)?.port).toBe(9093)
  })

  describe('refuses, naming the key', () => {
    const cases: [string, string[], string, RegExp][] = [
      ['unclean election', ['unclean.leader.election.enable=true'], 'unclean.leader.election.enable', /true is not supported/],
      ['an unknown flush policy', ['log.flush.policy=sometimes'], 'log.flush.policy', /must be fsync .* or page-cache/],
      ['a broker without a broker listener', ['listeners=CONTROLLER://localhost:19093'], 'listeners', /a broker needs a listener not named in controller\.listener\.names/],
      ['a heartbeat not below the session timeout', ['broker.heartbeat.interval.ms=9000'], 'broker.heartbeat.interval.ms', /must be below broker\.session\.timeout\.ms/],
      ['a voter with only the broker role', ['process.roles=broker'], 'node.id', /a voter must have the controller role/],
      ['two log dirs', ['log.dirs=/a,/b'], 'log.dirs', /only one directory is supported/],
      ['a bad cluster id', ['cluster.id=has space'], 'cluster.id', /like a Kafka cluster id/],
      ['an unknown inter-broker listener', ['inter.broker.listener.name=INTERNAL'], 'inter.broker.listener.name', /not a broker listener/],
      ['a negative fetch size', ['replica.fetch.max.bytes=-1'], 'replica.fetch.max.bytes', /must be an integer/],
      ['a zero retention check interval', ['log.retention.check.interval.ms=0'], 'log.retention.check.interval.ms', /must be an integer between 1/],
    ]
    for (const [what, overrides, key, message] of cases) {
      it(what, () => expectError(parse({ file: { name: 'f', text: COMBINED_FILE }, overrides }), key, message))
    }
  })
})

const MULTI_LISTENER_FILE = `
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@trib-1:19092,2@trib-2:19093,3@trib-3:19094
listeners=INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:19092
advertised.listeners=INTERNAL://trib-1:29092,EXTERNAL://localhost:9092
listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
log.dirs=/tmp/trib-1
`

describe('parseServerConfig: named listeners (INTERNAL / EXTERNAL, KIP-103)', () => {
  it('reads Kafka\'s docker pattern: two broker listeners, each advertised, replicating over INTERNAL', () => {
    const config = expectOk(parse({ file: { name: 'f', text: MULTI_LISTENER_FILE } }))
    expect(brokerListeners(config).map((l) => l.name)).toEqual(['INTERNAL', 'EXTERNAL'])
    expect(brokerListener(config)).toEqual({ name: 'INTERNAL', host: '0.0.0.0', port: 29092 })
    expect(brokerListeners(config).map((l) => advertisedEndpoint(config, l))).toEqual([{ host: 'trib-1', port: 29092 }, { host: 'localhost', port: 9092 }])
    expect(controllerListener(config)).toEqual({ name: 'CONTROLLER', host: '0.0.0.0', port: 19092 })
    expect([...config.listenerSecurityProtocolMap]).toEqual([['INTERNAL', 'PLAINTEXT'], ['EXTERNAL', 'PLAINTEXT'], ['CONTROLLER', 'PLAINTEXT']])
  })

  it('defaults the inter-broker listener to PLAINTEXT when there is one (Kafka), else to the first broker listener', () => {
    const unnamed = MULTI_LISTENER_FILE.replace('inter.broker.listener.name=INTERNAL\n', '')
    expect(brokerListener(expectOk(parse({ file: { name: 'f', text: unnamed } })))?.name).toBe('INTERNAL')
    const withPlaintext = expectOk(parse({ file: { name: 'f', text: unnamed }, overrides: ['listeners=EXTERNAL://:9092,PLAINTEXT://:29092,CONTROLLER://:19092', 'advertised.listeners=', 'listener.security.protocol.map='] }))
    expect(brokerListener(withPlaintext)?.name).toBe('PLAINTEXT')
    expect(brokerListeners(withPlaintext).map((l) => l.name)).toEqual(['EXTERNAL', 'PLAINTEXT'])
  })

  it('keeps single-listener configs as they were: no map needed, every listener is PLAINTEXT', () => {
    const config = expectOk(parse({ file: { name: 'f', text: COMBINED_FILE } }))
    expect(config.listenerSecurityProtocolMap.size).toBe(0)
    expect(brokerListeners(config)).toEqual([{ name: 'PLAINTEXT', host: '', port: 9093 }])
  })

  describe('refuses, with one line naming the key', () => {
    const cases: [string, string[], string, RegExp][] = [
      ['a protocol other than PLAINTEXT', ['listener.security.protocol.map=INTERNAL:SSL,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT'], 'listener.security.protocol.map', /INTERNAL: SSL is not supported, only PLAINTEXT/],
      ['an unknown protocol', ['listener.security.protocol.map=INTERNAL:TLS'], 'listener.security.protocol.map', /'TLS' is not a security protocol/],
      ['a malformed map entry', ['listener.security.protocol.map=INTERNAL'], 'listener.security.protocol.map', /is not NAME:PROTOCOL/],
      ['a listener named twice in the map', ['listener.security.protocol.map=INTERNAL:PLAINTEXT,internal:PLAINTEXT'], 'listener.security.protocol.map', /INTERNAL is listed twice/],
      ['a listener missing from an explicit map', ['listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT'], 'listener.security.protocol.map', /no security protocol for listener EXTERNAL/],
      ['a listener named after SSL without a map', ['listener.security.protocol.map=', 'listeners=INTERNAL://:29092,SSL://:9092,CONTROLLER://:19092', 'advertised.listeners=INTERNAL://trib-1:29092'], 'listener.security.protocol.map', /SSL would use SSL, which is not supported/],
      ['an advertised listener that is not a listener', ['advertised.listeners=INTERNAL://trib-1:29092,OUTSIDE://localhost:9092'], 'advertised.listeners', /OUTSIDE is not in listeners/],
      ['an advertised listener named twice', ['advertised.listeners=INTERNAL://trib-1:29092,INTERNAL://localhost:9092'], 'advertised.listeners', /INTERNAL is listed twice/],
      ['a listener named twice', ['listeners=INTERNAL://:29092,INTERNAL://:9092,CONTROLLER://:19092'], 'listeners', /INTERNAL is listed twice/],
      ['two listeners on one port', ['listeners=INTERNAL://:9092,EXTERNAL://:9092,CONTROLLER://:19092'], 'listeners', /port 9092 is used by two listeners/],
      ['an inter-broker listener that is the controller listener', ['inter.broker.listener.name=CONTROLLER'], 'inter.broker.listener.name', /CONTROLLER is not a broker listener/],
    ]
    for (const [what, overrides, key, message] of cases) {
      it(what, () => expectError(parse({ file: { name: 'f', text: MULTI_LISTENER_FILE }, overrides }), key, message))
    }
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
