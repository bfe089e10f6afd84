// The config file as hostile or runaway input: size, duplicate keys, alias bombs, many keys. Every problem is a
// ConfigError line naming the file and, within it, the position.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig, MAX_CONFIG_BYTES } from '../../src/config/load.js'
import { DEFAULT_RULE_LIMITS } from '../../src/rules/limits.js'
import { aliasBomb, bigConfig } from '../fixtures/big-yaml.js'

function write(t: Test, text: string): string {
  const file = join(t.testdir(), 'rollguard.yml')
  writeFileSync(file, text)
  return file
}

const load = (config: string) => loadConfig({ flags: new Map([['config', [config]]]), env: {}, cwd: '/w' })

async function problems(config: string): Promise<readonly string[]> {
  try {
    await load(config)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('a 10 MB config is refused by its size, before it is read', async t => {
  const file = write(t, bigConfig(10 * 1024 * 1024))
  const started = performance.now()
  t.same(await problems(file), [`${file}: the file is 10 MiB, larger than the limit of 1 MiB for a config file`])
  t.ok(performance.now() - started < 1000, 'at once')
  t.equal(MAX_CONFIG_BYTES, 1024 * 1024)
})

t.test('a config near its size limit with 30 000 keys in one mapping loads in linear time', async t => {
  const file = write(t, bigConfig(MAX_CONFIG_BYTES - 1024))
  const started = performance.now()
  const config = await load(file)
  const ms = performance.now() - started
  t.ok(Object.keys(config.doc.global.external_labels).length > 30_000)
  // With the yaml package's quadratic duplicate check, 40 000 keys took 15 s.
  t.ok(ms < 15_000, `loaded in ${ms.toFixed(0)} ms`)
})

t.test('duplicate keys, alias bombs and other YAML problems name the file, line and column', async t => {
  const dup = write(
    t,
    'prometheus:\n  url: http://127.0.0.1:9090\nrules:\n  evaluation_interval: 1m\n  evaluation_interval: 2m\n',
  )
  t.same(await problems(dup), [`${dup}:5:3: mapping key "evaluation_interval" already defined`])
  const bomb = write(t, aliasBomb('probes'))
  t.match(await problems(bomb), [new RegExp(`^${bomb}:5:\\d+: too many alias references \\(`)])
  const twoDocs = write(t, 'prometheus:\n  url: http://127.0.0.1:9090\n---\nrules: {}\n')
  t.same(await problems(twoDocs), [`${twoDocs}:3:1: multiple YAML documents are not supported`])
  const list = write(t, '- a\n- b\n')
  t.same(await problems(list), [`${list}:1:1: the config file must be a YAML mapping`])
  const syntax = write(t, 'prometheus:\n  url: [\n')
  t.match(await problems(syntax), [new RegExp(`^${syntax}:\\d+:\\d+: `)])
})

t.test('the rule-file limits are config keys under rules:', async t => {
  const defaults = await load(write(t, 'prometheus:\n  url: http://127.0.0.1:9090\n'))
  t.same(
    [
      defaults.doc.rules.max_file_bytes,
      defaults.doc.rules.max_groups_per_file,
      defaults.doc.rules.max_rules_per_file,
      defaults.doc.rules.max_labels_per_rule,
      defaults.doc.rules.max_annotations_per_rule,
    ],
    [
      DEFAULT_RULE_LIMITS.maxFileBytes,
      DEFAULT_RULE_LIMITS.maxGroupsPerFile,
      DEFAULT_RULE_LIMITS.maxRulesPerFile,
      DEFAULT_RULE_LIMITS.maxLabelsPerRule,
      DEFAULT_RULE_LIMITS.maxAnnotationsPerRule,
    ],
  )
  const set = await load(
    write(
      t,
      'prometheus:\n  url: http://127.0.0.1:9090\nrules:\n  max_file_bytes: 16777216\n  max_rules_per_file: 50000\n',
    ),
  )
  t.equal(set.doc.rules.max_file_bytes, 16 * 1024 * 1024)
  t.equal(set.doc.rules.max_rules_per_file, 50_000)
  const bad = write(t, 'prometheus:\n  url: http://127.0.0.1:9090\nrules:\n  max_labels_per_rule: 0\n')
  t.match(await problems(bad), [new RegExp(`^${bad}:4:24: rules\\.max_labels_per_rule: `)])
})
