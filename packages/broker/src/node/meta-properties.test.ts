import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NodeId } from '@tributary/protocol'
import { clusterIdFromVoters, ensureMetaProperties, META_PROPERTIES_FILE, MetaPropertiesError, parseMetaProperties } from './meta-properties.js'

const voters = [1, 2, 3].map((id) => ({ id: id as NodeId, host: 'localhost', port: 19091 + id }))

describe('meta.properties', () => {
  let dir = ''
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('derives one cluster id from the voters whatever their order', () => {
    const id = clusterIdFromVoters(voters)
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(clusterIdFromVoters([...voters].reverse())).toBe(id)
    expect(clusterIdFromVoters(voters.slice(0, 2))).not.toBe(id)
  })

  it('writes it on the first start, keeps it later, and refuses another node or cluster', async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-meta-'))
    const first = await ensureMetaProperties(dir, 2 as NodeId, null, voters)
    expect(first.clusterId).toBe(clusterIdFromVoters(voters))
    const props = parseMetaProperties(await readFile(join(dir, META_PROPERTIES_FILE), 'utf8'))
    expect(Object.fromEntries(props)).toEqual({ 'cluster.id': first.clusterId, 'node.id': '2', version: '1' })
    // The stored id wins over a derivation from other voters.
    expect((await ensureMetaProperties(dir, 2 as NodeId, null, voters.slice(1))).clusterId).toBe(first.clusterId)
    await expect(ensureMetaProperties(dir, 3 as NodeId, null, voters)).rejects.toMatchObject({ key: 'node.id' })
    await expect(ensureMetaProperties(dir, 2 as NodeId, 'other-cluster', voters)).rejects.toBeInstanceOf(MetaPropertiesError)
    await writeFile(join(dir, META_PROPERTIES_FILE), 'version=1\n')
    await expect(ensureMetaProperties(dir, 2 as NodeId, null, voters)).rejects.toMatchObject({ key: 'log.dirs' })
  })

  it('uses a configured cluster.id on the first start', async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-meta-'))
    expect((await ensureMetaProperties(dir, 1 as NodeId, 'MkU3OEVBNTcwNTJENDM2Qk', voters)).clusterId).toBe('MkU3OEVBNTcwNTJENDM2Qk')
  })
})
