/**
 * `npm run chaos -- [flags]` (issue 6): parses the flags (chaos-args.ts), runs one chaos run
 * (run-chaos.ts), prints the summary table and exits 0 when the history check passed with at
 * least one acknowledged record, 1 on any violation or a run that could not finish, 2 on a bad
 * flag. Ctrl-C stops a fresh cluster's nodes before exiting (they would outlive us otherwise).
 */
import { randomInt } from 'node:crypto'
import { resolve } from 'node:path'
import { parseChaosArgs } from './chaos-args.ts'
import { runChaos } from './run-chaos.ts'

const args = parseChaosArgs(process.argv.slice(2), new Date(), randomInt(0, 2 ** 31))
if (args.kind === 'help') {
  console.log(args.text)
  process.exit(0)
}
if (args.kind === 'error') {
  console.error(`chaos: ${args.message} (see --help)`)
  process.exit(2)
}
const options = args.options
console.log(`chaos: seed ${options.seed} (replay the schedule with --seed ${options.seed}); output in ${resolve(options.outDir)}`)
try {
  const run = await runChaos(options)
  console.log('')
  console.log(run.summary)
  console.log('')
  console.log(`history and report: ${resolve(run.outDir)}/{history,report}.json`)
  process.exitCode = run.ok ? 0 : 1
} catch (err) {
  console.error(`chaos run aborted (seed ${options.seed}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exitCode = 1
}
