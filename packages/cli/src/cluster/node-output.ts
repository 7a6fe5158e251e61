/**
 * How the launcher shows its nodes' output: every line gets a padded `[node N]` tag (colored
 * when the terminal allows), and the tag the server already printed is dropped so it does not
 * appear twice. Pure: coloring comes in as a function.
 */

/** The colors node tags cycle through, chosen to read on dark and light terminals. */
export const NODE_COLORS = ['cyan', 'magenta', 'yellow', 'green', 'blue', 'red'] as const
export type NodeColor = (typeof NODE_COLORS)[number]

export type Paint = (color: NodeColor | 'bold' | 'dim', text: string) => string

export const NO_PAINT: Paint = (_color, text) => text

export function nodeColor(id: number): NodeColor {
  return NODE_COLORS[(id - 1) % NODE_COLORS.length]!
}

/** `[node 1]` padded to the width of the widest id's tag, so the text columns line up. */
export function nodeTag(id: number, maxId: number, paint: Paint = NO_PAINT): string {
  const tag = `[node ${id}]`
  const width = `[node ${maxId}]`.length
  return `${paint(nodeColor(id), tag)}${' '.repeat(Math.max(0, width - tag.length))}`
}

/** One line of a node's stdout or stderr, retagged. */
export function formatNodeLine(id: number, maxId: number, line: string, paint: Paint = NO_PAINT): string {
  const own = `[node ${id}] `
  const at = line.indexOf(own)
  const text = at < 0 ? line : line.slice(0, at) + line.slice(at + own.length)
  return `${nodeTag(id, maxId, paint)} ${text}`
}
