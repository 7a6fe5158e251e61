import { describe, expect, it } from 'vitest'
import { silentLogger, type MetadataImage } from '@tributary/metadata-quorum'
import { MetadataApplier } from './metadata-applier.js'
import { threeBrokers } from './test-images.js'

function images(...offsets: number[]): MetadataImage[] {
  const base = threeBrokers()
  return offsets.map((o) => base.replay([], o))
}

describe('MetadataApplier', () => {
  it('applies nothing before the gate opens, then the newest image at or past it', async () => {
    const applied: number[] = []
    const a = new MetadataApplier(async (i) => void applied.push(i.offset), silentLogger, () => undefined)
    const [i5, i6, i7] = images(5, 6, 7)
    a.offer(i5!)
    a.offer(i6!)
    await new Promise((r) => setTimeout(r, 5))
    expect(applied).toEqual([])
    expect(a.appliedOffset).toBe(-1)
    expect(a.latestImage).toBe(i6)
    a.openGate(7)
    await new Promise((r) => setTimeout(r, 5))
    expect(applied).toEqual([])
    a.offer(i7!)
    await a.close()
    expect(applied).toEqual([7])
    expect(a.appliedOffset).toBe(7)
  })

  it('applies one at a time, in order, coalescing what arrives meanwhile to the newest', async () => {
    const applied: number[] = []
    const release: (() => void)[] = []
    const a = new MetadataApplier((i) => new Promise<void>((r) => release.push(() => { applied.push(i.offset); r() })), silentLogger, () => undefined)
    a.openGate(0)
    const [i5, i6, i7, i8] = images(5, 6, 7, 8)
    a.offer(i5!)
    a.offer(i6!)
    a.offer(i7!)
    a.offer(i5!) // older: ignored
    expect(release).toHaveLength(1)
    release.shift()!()
    await new Promise((r) => setTimeout(r, 1))
    expect(release).toHaveLength(1)
    a.offer(i8!)
    release.shift()!()
    await new Promise((r) => setTimeout(r, 1))
    release.shift()!()
    await a.close()
    expect(applied).toEqual([5, 7, 8])
  })

  it('a failed apply is fatal and stops applying', async () => {
    const fatal: unknown[] = []
    const a = new MetadataApplier(async () => { throw new Error('disk') }, silentLogger, (e) => fatal.push(e))
    a.openGate(0)
    const [i5, i6] = images(5, 6)
    a.offer(i5!)
    await new Promise((r) => setTimeout(r, 5))
    a.offer(i6!)
    await a.close()
    expect(fatal).toHaveLength(1)
    expect(a.appliedOffset).toBe(-1)
  })
})
