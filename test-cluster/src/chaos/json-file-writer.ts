/**
 * Writes a JSON object whose large members are arrays, one array element at a time, so a
 * long run's history (hundreds of MB) never becomes one string: V8 caps a string near
 * 512 MiB, and JSON.stringify of the whole history would fail at the very end of a run.
 * bigints are written as decimal strings. The file is one valid JSON document.
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

async function put(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain')
}

/** `members` in order; an array member is streamed element by element, anything else stringified whole. */
export async function writeJsonFile(path: string, members: readonly (readonly [string, unknown])[]): Promise<void> {
  const out = createWriteStream(path)
  const closed = new Promise<void>((resolveClosed, reject) => {
    out.once('close', () => resolveClosed())
    out.once('error', reject)
  })
  await put(out, '{')
  for (let m = 0; m < members.length; m++) {
    const [name, value] = members[m]!
    await put(out, `${m === 0 ? '' : ','}\n${JSON.stringify(name)}:`)
    if (Array.isArray(value)) {
      await put(out, '[')
      for (let i = 0; i < value.length; i++) await put(out, `${i === 0 ? '' : ','}\n${JSON.stringify(value[i], replacer)}`)
      await put(out, ']')
    } else {
      await put(out, JSON.stringify(value, replacer) ?? 'null')
    }
  }
  await put(out, '\n}\n')
  out.end()
  await closed
}
