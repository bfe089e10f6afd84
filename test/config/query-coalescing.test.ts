import t from 'tap'
import { parseRunArgs, runUsage, UsageError } from '../../src/cli/args.js'
import { loadConfig } from '../../src/config/load.js'

const URL = ['--prometheus-url', 'http://127.0.0.1:9090']
const coalescing = async (argv: string[], env: Record<string, string> = {}) =>
  (await loadConfig({ flags: parseRunArgs([...URL, ...argv]).flags, env, cwd: '/w' })).doc.rules.query_coalescing

t.test('rules.query_coalescing: on by default; --query-coalescing=false or the environment turn it off', async t => {
  t.equal(await coalescing([]), true)
  t.equal(await coalescing(['--query-coalescing=false']), false)
  t.equal(await coalescing(['--query-coalescing=false', '--query-coalescing=true']), true, 'the last one wins')
  t.equal(await coalescing(['--query-coalescing']), true)
  t.equal(await coalescing([], { ROLLGUARD_QUERY_COALESCING: 'false' }), false)
  t.throws(() => parseRunArgs([...URL, '--query-coalescing=off']), UsageError)
  t.throws(() => parseRunArgs([...URL, '--', '--query-coalescing=false']), UsageError, 'not after --')
  t.match(runUsage(), /--query-coalescing {2}\(ROLLGUARD_QUERY_COALESCING; config: rules\.query_coalescing\)/)
})
