// rules.no_data_check_interval and rules.no_data_for: defaults, flags, environment, config file, bad values.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config/load.js'

const flags = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, [v]]))
const base = { 'prometheus-url': 'http://127.0.0.1:9090' }

t.test('defaults: counted every minute, flagged after 10 minutes', async t => {
  const c = await loadConfig({ flags: flags(base), env: {}, cwd: '/w' })
  t.equal(c.doc.rules.no_data_check_interval, 60_000)
  t.equal(c.doc.rules.no_data_for, 600_000)
})

t.test('flag > environment > config file; 0 switches the check off', async t => {
  const dir = t.testdir({})
  const file = join(dir, 'rollguard.yml')
  writeFileSync(file, 'rules:\n  no_data_check_interval: 0s\n  no_data_for: 30m\n')
  const fromFile = await loadConfig({ flags: flags({ ...base, config: file }), env: {}, cwd: dir })
  t.equal(fromFile.doc.rules.no_data_check_interval, 0)
  t.equal(fromFile.doc.rules.no_data_for, 1_800_000)
  const env = { ROLLGUARD_NO_DATA_FOR: '5m', ROLLGUARD_NO_DATA_CHECK_INTERVAL: '30s' }
  const fromEnv = await loadConfig({ flags: flags({ ...base, config: file }), env, cwd: dir })
  t.same([fromEnv.doc.rules.no_data_check_interval, fromEnv.doc.rules.no_data_for], [30_000, 300_000])
  const fromFlag = await loadConfig({ flags: flags({ ...base, config: file, 'no-data-for': '1m' }), env, cwd: dir })
  t.equal(fromFlag.doc.rules.no_data_for, 60_000)
})

t.test('a bad duration names the option', async t => {
  await t.rejects(loadConfig({ flags: flags({ ...base, 'no-data-for': '10x' }), env: {}, cwd: '/w' }), ConfigError)
  const err = await loadConfig({
    flags: flags({ ...base, 'no-data-check-interval': 'soon' }),
    env: {},
    cwd: '/w',
  }).catch((e: unknown) => e)
  t.match((err as ConfigError).problems, [/--no-data-check-interval: not a valid duration string: "soon"/])
})
