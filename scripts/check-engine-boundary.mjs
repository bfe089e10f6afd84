#!/usr/bin/env node
// Fails when a module outside src/engine/ and src/runtime/ can reach the engine's live, mutable state: when it
// imports the mutable state types or the functions that create and evaluate them, or reads the rule manager's
// live groups (manager.groups()). Everything else reads the manager's snapshots (src/engine/snapshot.ts:
// GroupSnapshot, RuleSnapshot, AlertSnapshot, via rules(), alerts(), firingAlerts()).
//
//   node scripts/check-engine-boundary.mjs [--root DIR]
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** MUTABLE names, per engine module, what only the engine and the runtime may import. */
export const MUTABLE = {
  'engine/group.ts': ['GroupState', 'RuleRuntime', 'newGroupState', 'evaluateGroup'],
  'engine/alerting.ts': ['AlertingRuleState', 'newAlertingRuleState', 'evaluateAlertingRule'],
  'engine/types.ts': ['Alert'],
}

/**
 * ALLOWED are the deliberate exceptions, each with its reason. backtest/ replays rule groups through the engine on
 * states it creates and owns itself (never the live ones); restore fills a starting group's state from such a
 * replay, handed that state by the manager's restore hook (runtime/restore-hook.ts) before the group's first
 * evaluation.
 */
export const ALLOWED = ['backtest/replay.ts', 'backtest/restore.ts']

const INSIDE = ['engine/', 'runtime/']

const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+['"](\.{1,2}\/[^'"]+)['"]/g
const DYNAMIC = /import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g
const LIVE_GROUPS = /\bmanager\s*\.\s*groups\s*\(/g

function files(dir) {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** names lists the imported names of an import clause ("type A, B as C" → A, B; "* as x" → *). */
function names(clause) {
  if (/\*\s+as\s/.test(clause) || clause.trim() === '*') return ['*']
  const braces = clause.match(/\{([\s\S]*)\}/)
  if (braces === null) return []
  return braces[1]
    .split(',')
    .map(s =>
      s
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]
        .trim(),
    )
    .filter(Boolean)
}

function lineOf(text, index) {
  return text.slice(0, index).split('\n').length
}

/** violations lists every place under root's src/ that reaches mutable engine state from outside. */
export function violations(root) {
  const src = join(root, 'src')
  const out = []
  for (const file of files(src)) {
    const own = relative(src, file).split(sep).join('/')
    if (INSIDE.some(dir => own.startsWith(dir)) || ALLOWED.includes(own)) continue
    const text = readFileSync(file, 'utf8')
    const target = spec =>
      relative(src, resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
        .split(sep)
        .join('/')
    for (const m of text.matchAll(IMPORT)) {
      const forbidden = MUTABLE[target(m[4])]
      if (forbidden === undefined) continue
      for (const name of names(m[3]))
        if (name === '*' || forbidden.includes(name))
          out.push(`src/${own}:${lineOf(text, m.index + m[0].indexOf(m[1]))}: imports ${name} from src/${target(m[4])}`)
    }
    for (const m of text.matchAll(DYNAMIC))
      if (MUTABLE[target(m[1])] !== undefined)
        out.push(`src/${own}:${lineOf(text, m.index)}: loads src/${target(m[1])} dynamically`)
    for (const m of text.matchAll(LIVE_GROUPS))
      out.push(`src/${own}:${lineOf(text, m.index)}: reads the live groups (manager.groups()); use manager.rules()`)
  }
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--root')
  const root = at >= 0 ? resolve(args[at + 1] ?? '.') : join(dirname(fileURLToPath(import.meta.url)), '..')
  const found = violations(root)
  if (found.length === 0) {
    console.log('engine boundary: no module outside src/engine and src/runtime reaches mutable engine state')
  } else {
    for (const v of found) console.error(`engine boundary: ${v}`)
    process.exit(1)
  }
}
