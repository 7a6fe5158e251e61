import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StoreCorruptionError, nodeSyncOps } from '@tributary/metadata-quorum'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseEpochField, parseOffsetField, readCheckpointFile, writeCheckpointFile } from './checkpoint-file.js'

describe('checkpoint files', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-checkpoint-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it("writes Kafka's text format and reads it back", async () => {
    const path = join(dir, 'leader-epoch-checkpoint')
    await writeCheckpointFile(path, dir, [[0, 0n], [3, 1500n]], nodeSyncOps)
    expect(await readFile(path, 'utf8')).toBe('0\n2\n0 0\n3 1500\n')
    expect(await readCheckpointFile(path, 2)).toEqual([['0', '0'], ['3', '1500']])
  })

  it('a missing file reads as null', async () => {
    expect(await readCheckpointFile(join(dir, 'nope'), 1)).toBeNull()
  })

  it.each([
    ['no trailing newline', '0\n1\n5'],
    ['unknown version', '1\n1\n5\n'],
    ['count mismatch', '0\n2\n5\n'],
    ['wrong field count', '0\n1\n5 6\n'],
    ['garbage count', '0\nx\n'],
  ])('a damaged file (%s) is a StoreCorruptionError naming the path', async (_, text) => {
    const path = join(dir, 'recovery-point-checkpoint')
    await writeFile(path, text)
    const err = await readCheckpointFile(path, 1).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StoreCorruptionError)
    expect((err as StoreCorruptionError).message).toContain(path)
  })

  it('parses offsets and epochs strictly', () => {
    expect(parseOffsetField('p', '9223372036854775807', 'o')).toBe(9223372036854775807n)
    expect(() => parseOffsetField('p', '9223372036854775808', 'o')).toThrow(StoreCorruptionError)
    expect(() => parseOffsetField('p', '-1', 'o')).toThrow(StoreCorruptionError)
    expect(() => parseOffsetField('p', '01', 'o')).toThrow(StoreCorruptionError)
    expect(parseEpochField('p', '2147483647', 'e')).toBe(2147483647)
    expect(() => parseEpochField('p', '2147483648', 'e')).toThrow(StoreCorruptionError)
  })
})
