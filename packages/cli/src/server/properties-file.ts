/**
 * Reads Java .properties text (server.properties): `key=value`, `key: value` or
 * `key value`; `#` and `!` comment lines; a trailing backslash continues a line; the escapes
 * \t \n \r \f \\ and \uXXXX. A key given twice keeps the last value, as
 * java.util.Properties does. Each entry remembers its line so errors can point at it.
 */

export interface PropertyEntry {
  readonly key: string
  readonly value: string
  /** 1-based line where the entry starts. */
  readonly line: number
}

export function parseProperties(text: string): PropertyEntry[] {
  const physical = text.split(/\r\n|\r|\n/)
  const entries: PropertyEntry[] = []
  for (let i = 0; i < physical.length; i++) {
    const startLine = i + 1
    let logical = physical[i]!.replace(/^[ \t\f]+/, '')
    if (logical === '' || logical.startsWith('#') || logical.startsWith('!')) continue
    while (endsWithContinuation(logical) && i + 1 < physical.length) {
      i++
      logical = logical.slice(0, -1) + physical[i]!.replace(/^[ \t\f]+/, '')
    }
    if (endsWithContinuation(logical)) logical = logical.slice(0, -1)
    const { key, value } = splitKeyValue(logical)
    entries.push({ key: unescape(key), value: unescape(value), line: startLine })
  }
  return entries
}

/** An odd number of trailing backslashes: the last one escapes the line break. */
function endsWithContinuation(line: string): boolean {
  let n = 0
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) n++
  return n % 2 === 1
}

function splitKeyValue(line: string): { key: string; value: string } {
  let i = 0
  while (i < line.length) {
    const c = line[i]!
    if (c === '\\') {
      i += 2
      continue
    }
    if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') break
    i++
  }
  const key = line.slice(0, i)
  let rest = line.slice(i).replace(/^[ \t\f]+/, '')
  if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]+/, '')
  return { key, value: rest }
}

function unescape(s: string): string {
  if (!s.includes('\\')) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== '\\' || i + 1 >= s.length) {
      out += c
      continue
    }
    const n = s[++i]!
    if (n === 't') out += '\t'
    else if (n === 'n') out += '\n'
    else if (n === 'r') out += '\r'
    else if (n === 'f') out += '\f'
    else if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 5), 16))
      i += 4
    } else out += n
  }
  return out
}
