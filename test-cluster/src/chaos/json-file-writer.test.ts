import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeJsonFile } from './json-file-writer.ts'

describe('writeJsonFile', () => {
  it('streams array members element by element into one valid JSON document, bigints as strings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-json-'))
    try {
      const path = join(dir, 'h.json')
      const entries = Array.from({ length: 5000 }, (_, i) => ({ seq: i, offset: BigInt(i) * 10n }))
      await writeJsonFile(path, [['settings', { seed: 7 }], ['entries', entries], ['empty', []], ['nothing', null]])
      const parsed = JSON.parse(await readFile(path, 'utf8')) as { settings: { seed: number }; entries: { seq: number; offset: string }[]; empty: unknown[]; nothing: null }
      expect(parsed.settings).toEqual({ seed: 7 })
      expect(parsed.entries).toHaveLength(5000)
      expect(parsed.entries[4999]).toEqual({ seq: 4999, offset: '49990' })
      expect(parsed.empty).toEqual([])
      expect(parsed.nothing).toBeNull()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
