import { describe, expect, it } from 'vitest'
import { produceLines } from './console-producer-command.js'
import { lineReaderConfig, parseLine, type LineReaderConfig } from './console-producer-lines.js'
import { fakeIo } from './test-tool-io.js'

const keyed: LineReaderConfig = { parseKey: true, keySeparator: ':', ignoreError: false, nullMarker: null, file: null }
const plain: LineReaderConfig = { ...keyed, parseKey: false }

async function* from(lines: readonly string[]): AsyncGenerator<string> {
  for (const l of lines) yield l
}

describe('parseLine', () => {
  it('splits at the first separator with parse.key', () => {
    expect(parseLine('k1:v:1', 1, keyed)).toEqual({ key: 'k1', value: 'v:1', warning: null })
    expect(parseLine(':v', 1, keyed)).toEqual({ key: '', value: 'v', warning: null })
    expect(parseLine('k1:v1', 1, plain)).toEqual({ key: null, value: 'k1:v1', warning: null })
  })

  it("sends the seed's separator-less line without a key and names it in a warning", () => {
    expect(parseLine('kafka message', 7, keyed)).toEqual({ key: null, value: 'kafka message', warning: "WARN No key separator ':' found on line number 7: 'kafka message' (sent without a key)" })
    expect(parseLine('kafka message', 7, { ...keyed, ignoreError: true }).warning).toBeNull()
  })

  it('turns the null marker into null', () => {
    expect(parseLine('NULL:v', 1, { ...keyed, nullMarker: 'NULL' })).toEqual({ key: null, value: 'v', warning: null })
  })
})

describe('lineReaderConfig', () => {
  it("uses Kafka's defaults and warns about unknown keys", () => {
    const warnings: string[] = []
    expect(lineReaderConfig(new Map([['parse.key', 'true'], ['file', 'my-messages.txt'], ['parse.headers', 'true']]), warnings)).toEqual({
      parseKey: true, keySeparator: '\t', ignoreError: false, nullMarker: null, file: 'my-messages.txt',
    })
    expect(warnings).toEqual(["WARN --property 'parse.headers' is not used by the console producer (known: parse.key, key.separator, ignore.error, null.marker, file)"])
    expect(() => lineReaderConfig(new Map([['parse.key', 'yes']]), [])).toThrow("--property parse.key must be true or false, got 'yes'")
  })
})

describe('produceLines', () => {
  it('reports each failed send on one stderr line and counts it', async () => {
    const io = fakeIo()
    const sent: { key: string | null; value: string | null }[] = []
    const outcome = await produceLines(from(['a:1', 'b:2', 'c:3']), async (r) => {
      if (r.key === 'b') throw new Error('NOT_ENOUGH_REPLICAS: Messages are rejected since there are fewer in-sync replicas than required.')
      sent.push(r)
    }, { topic: 't', reader: keyed, sync: false, prompt: false }, io)
    expect(outcome).toEqual({ sent: 2, failed: 1 })
    expect(sent).toEqual([{ key: 'a', value: '1' }, { key: 'c', value: '3' }])
    expect(io.err()).toBe('ERROR Error when sending message to topic t with key: 1 bytes, value: 1 bytes (line 2) with error: NOT_ENOUGH_REPLICAS: Messages are rejected since there are fewer in-sync replicas than required.\n')
  })

  it('shows the > prompt before each line on a terminal, and waits for each send with --sync', async () => {
    const io = fakeIo()
    let inFlight = 0
    let maxInFlight = 0
    await produceLines(from(['x', 'y']), async () => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await new Promise((resolve) => setTimeout(resolve, 5))
      inFlight--
    }, { topic: 't', reader: plain, sync: true, prompt: true }, io)
    expect(io.out()).toBe('>>>')
    expect(maxInFlight).toBe(1)
  })
})
