#!/usr/bin/env node
// The `trib` bin as npm links it. npm links workspace bins at install time, BEFORE `prepare`
// builds dist/, so a bin pointing into dist/ would be missing (or not executable) after
// `npm ci`. This committed, executable shim always exists; it loads the compiled CLI.
// Plain JS on purpose: it must run without a build.
import { existsSync } from 'node:fs'

const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write(`trib: Node ${process.versions.node} is too old (Tributary needs >= 22.12); run it as \`npx trib\` from the repository, which uses the pinned Node 24\n`)
  process.exit(1)
}
const entry = new URL('../dist/bin/trib.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('trib: the CLI is not built (packages/cli/dist is missing); run `npm run build` in the repository root\n')
  process.exit(1)
}
await import(entry.href)
