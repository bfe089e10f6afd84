#!/usr/bin/env node
// Loads one rule file with rollguard's loader (dist/rules/load.js) in a fresh process and prints what that costs:
// parse time and peak RSS (VmHWM) before/after. The scale benchmark runs it for each layout, so rule-loading memory
// can be told apart from evaluation memory.
//
//   node bench/rule-load.mjs FILE
//
// FILE is the rule file to load; there are no options. Prints one JSON line: file, bytes, groups, rules, parseMs,
// rssBeforeMiB, peakRssMiB.
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT, cliArgs, memoryKiB, round } from './lib/common.mjs'

const { positionals, fail } = cliArgs(import.meta.url, { allowPositionals: true })
if (positionals.length !== 1) fail('name one rule FILE')
const file = positionals[0]
const { parseRuleFile } = await import(pathToFileURL(join(ROOT, 'dist', 'rules', 'load.js')).href)
const text = readFileSync(file, 'utf8')
const before = memoryKiB(process.pid)
const started = performance.now()
const parsed = parseRuleFile(file, text)
const parseMs = performance.now() - started
const after = memoryKiB(process.pid)
if (parsed.errors.length > 0) {
  process.stderr.write(`${file}: ${parsed.errors.length} errors, first: ${JSON.stringify(parsed.errors[0])}\n`)
  process.exit(1)
}
process.stdout.write(
  `${JSON.stringify({
    file,
    bytes: statSync(file).size,
    groups: parsed.groups.length,
    rules: parsed.ruleCount,
    parseMs: round(parseMs, 1),
    rssBeforeMiB: round(before.rss / 1024, 1),
    peakRssMiB: round(after.hwm / 1024, 1),
  })}\n`,
)
