/**
 * The shipped rules/rollback-triggers.yml in Prometheus's own tools: `promtool check rules` accepts it and its
 * unit tests (rules/tests/rollback-triggers.test.yml, `promtool test rules`) pass: every trigger fires on a
 * sustained breach after `for`, not on a shorter blip, resolves, and HighErrorRate and HighLatency do not
 * fire on low traffic. The file must keep the minimum request rate of HighErrorRate and HighLatency: an
 * `and on (namespace, deployment)` floor on the per-Deployment request rate (rate, not increase, so the
 * fast variant of the demo and the tests keeps its meaning). The promtool parts are skipped only where
 * promtool is not installed (`npm test` installs it first: scripts/install-system-deps.sh).
 */
import { execFile, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SyntaxNode } from '@lezer/common'
import { parser } from '@prometheus-io/lezer-promql'
import t from 'tap'
import { parse } from 'yaml'
import { fastRules } from '../../src/demo/fast-rules.js'
import { parseDuration } from '../../src/rules/duration.js'
import { unquote } from '../../src/rules/promql.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const RULES = join(ROOT, 'rules', 'rollback-triggers.yml')
const TESTS = join(ROOT, 'rules', 'tests', 'rollback-triggers.test.yml')
const POD_REGEX = '(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}'

interface Rule {
  alert?: string
  expr: string
}
const rulesOf = (text: string): Rule[] =>
  (parse(text) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(g => g.rules)
const text = readFileSync(RULES, 'utf8')
const rules = rulesOf(text)
const exprOf = (alert: string, from = rules): string => from.find(r => r.alert === alert)?.expr ?? ''

// ---- the request-rate floor, read from the expression's syntax tree ------------------------------------------

const src = (expr: string, n: SyntaxNode | null | undefined): string =>
  n === null || n === undefined ? '' : expr.slice(n.from, n.to)
const children = (n: SyntaxNode): SyntaxNode[] => {
  const out: SyntaxNode[] = []
  for (let c = n.firstChild; c !== null; c = c.nextSibling) out.push(c)
  return out
}
/** unwrap skips parentheses. */
const unwrap = (n: SyntaxNode | undefined): SyntaxNode | undefined =>
  n?.name === 'ParenExpr' ? unwrap(n.getChild('BinaryExpr') ?? n.firstChild?.nextSibling ?? undefined) : n
const grouping = (expr: string, n: SyntaxNode | null | undefined): string[] =>
  (n?.getChild('GroupingLabels')?.getChildren('LabelName') ?? []).map(l => src(expr, l)).sort()

interface Floor {
  /** the labels of `and on (...)` */
  on: string[]
  /** the left side's comparison, e.g. "> 0.10" */
  condition: string
  /** the floor's aggregation: function and grouping, e.g. "sum by deployment,namespace" */
  aggregation: string
  /** label_replace's arguments after the vector */
  labelReplace: string[]
  /** the range function inside label_replace, its metric and window */
  fn: string
  metric: string
  window: string
  op: string
  min: number
}

/**
 * floorOf reads `<condition> and on (…) sum by (…) (label_replace(fn(metric[w]), …)) >= min` from a rule
 * expression; undefined if the expression has another shape.
 */
function floorOf(expr: string): Floor | undefined {
  const top = unwrap(parser.parse(expr).topNode.firstChild ?? undefined)
  if (top?.name !== 'BinaryExpr' || top.getChild('And') === null) return undefined
  const operands = children(top).filter(c => !['And', 'MatchingModifierClause', 'BoolModifier'].includes(c.name))
  const left = unwrap(operands[0])
  const right = unwrap(operands[1])
  if (left?.name !== 'BinaryExpr' || right?.name !== 'BinaryExpr') return undefined
  const leftParts = children(left)
  const [volume, opNode, literal] = children(right).map(c => unwrap(c))
  const aggregate = volume?.name === 'AggregateExpr' ? volume : undefined
  const modifier = aggregate?.getChild('AggregateModifier')
  const call = aggregate?.getChild('FunctionCallBody')?.getChild('FunctionCall')
  const replaceBody =
    src(expr, call?.getChild('FunctionIdentifier')) === 'label_replace' ? call?.getChild('FunctionCallBody') : undefined
  const inner = replaceBody?.getChild('FunctionCall')
  const matrix = inner?.getChild('FunctionCallBody')?.getChild('MatrixSelector')
  if (literal?.name !== 'NumberDurationLiteral') return undefined
  return {
    on: grouping(expr, top.getChild('MatchingModifierClause')),
    condition: `${src(expr, leftParts[1])} ${src(expr, leftParts[leftParts.length - 1])}`,
    aggregation: `${src(expr, aggregate?.getChild('AggregateOp'))} ${src(expr, modifier?.firstChild)} ${grouping(expr, modifier).join(',')}`,
    labelReplace: (replaceBody?.getChildren('StringLiteral') ?? []).map(s => unquote(src(expr, s))),
    fn: src(expr, inner?.getChild('FunctionIdentifier')),
    metric: src(expr, matrix?.getChild('VectorSelector')),
    window: src(expr, matrix?.getChild('DurationExpr')),
    op: src(expr, opNode),
    min: Number(src(expr, literal)),
  }
}

/** rangeWindows lists every range window of an expression. */
function rangeWindows(expr: string): string[] {
  const out: string[] = []
  parser.parse(expr).iterate({
    enter(ref) {
      if (ref.name === 'MatrixSelector') out.push(src(expr, ref.node.getChild('DurationExpr')))
    },
  })
  return out
}

const FLOORED = {
  HighErrorRate: { metric: 'http_requests_total', condition: '> 0.10' },
  HighLatency: { metric: 'http_request_duration_seconds_count', condition: '> 5' },
}

t.test('HighErrorRate and HighLatency fire only above a minimum request rate per Deployment', async t => {
  for (const [alert, want] of Object.entries(FLOORED)) {
    const expr = exprOf(alert)
    const floor = floorOf(expr)
    t.ok(floor !== undefined, `${alert}: <condition> and on (…) <request rate> >= <floor>`)
    if (floor === undefined) continue
    t.match(
      floor,
      {
        on: ['deployment', 'namespace'],
        condition: want.condition,
        aggregation: 'sum by deployment,namespace',
        labelReplace: ['deployment', '$1', 'pod', POD_REGEX],
        fn: 'rate',
        metric: want.metric,
        op: '>=',
      },
      `${alert}: the floor is the Deployment's ${want.metric} per second, matched on namespace and deployment`,
    )
    t.ok(floor.min > 0, `${alert}: a positive floor (${floor.min} request/s)`)
    t.same([...new Set(rangeWindows(expr))], [floor.window], `${alert}: the floor averages over the rule's own window`)
  }
  t.equal(new Set(Object.keys(FLOORED).map(a => floorOf(exprOf(a))?.min)).size, 1, 'the same floor for both rules')
  for (const alert of ['HighMemory', 'HealthCheckFailing'])
    t.equal(floorOf(exprOf(alert)), undefined, `${alert}: no traffic floor`)
})

t.test('the fast variant (demo, integration tests) keeps the floor in requests per second', async t => {
  const fast = rulesOf(fastRules(text, { forDurations: { '2m': '3s', '5m': '4s' }, rangeWindow: '[5s]' }))
  for (const alert of Object.keys(FLOORED)) {
    t.match(floorOf(exprOf(alert, fast)), { fn: 'rate', window: '5s', min: floorOf(exprOf(alert))?.min }, alert)
  }
})

t.test('the floor checker rejects rules without one', async t => {
  const ratio =
    'sum by (namespace, deployment) (label_replace(rate(x_total{code=~"5.."}[1m]), "deployment", "$1", "pod", "(.+)")) / sum by (namespace, deployment) (label_replace(rate(x_total[1m]), "deployment", "$1", "pod", "(.+)")) > 0.10'
  t.equal(floorOf(ratio), undefined, 'no and')
  t.equal(floorOf(`${ratio} and on (namespace, deployment) up`), undefined, 'no comparison with a number')
  t.match(
    floorOf(
      `${ratio} and on (namespace, deployment) sum by (namespace, deployment) (label_replace(increase(x_total[1m]), "deployment", "$1", "pod", "(.+)")) >= 60`,
    ),
    { fn: 'increase', min: 60 },
  )
  t.match(floorOf(`(${ratio}) and on (namespace) (sum by (namespace) (rate(x_total[1m])) >= 1)`), {
    on: ['namespace'],
    fn: '',
    min: 1,
  })
})

// ---- the unit tests cover every rule ------------------------------------------------------------------------

interface AlertTest {
  eval_time: string
  alertname: string
  exp_alerts?: unknown[]
}
interface TestGroup {
  name: string
  alert_rule_test?: AlertTest[]
}
const unitTests = parse(readFileSync(TESTS, 'utf8')) as { rule_files: string[]; tests: TestGroup[] }

t.test('rules/tests/rollback-triggers.test.yml tests every rule: sustained, blip, low traffic', async t => {
  t.same(unitTests.rule_files, ['../rollback-triggers.yml'], 'the shipped file, unchanged')
  /** fires lists, in eval_time order, whether the alert is expected to fire, in the test groups named "<alert> <kind>:". */
  const fires = (alert: string, kind: string): boolean[][] =>
    unitTests.tests
      .filter(g => g.name.startsWith(`${alert} ${kind}:`))
      .map(g =>
        (g.alert_rule_test ?? [])
          .filter(a => a.alertname === alert)
          .sort((a, b) => parseDuration(a.eval_time) - parseDuration(b.eval_time))
          .map(a => (a.exp_alerts ?? []).length > 0),
      )
  for (const r of rules) {
    const alert = r.alert ?? ''
    const sustained = fires(alert, 'sustained')
    t.ok(
      sustained.some(s => /^0+1+0+$/.test(s.map(f => (f ? '1' : '0')).join(''))),
      `${alert}: sustained: not yet firing, firing, resolved`,
    )
    const blip = fires(alert, 'blip')
    t.ok(
      blip.length > 0 && blip.every(s => s.length > 0 && !s.includes(true)),
      `${alert}: a blip shorter than for does not fire`,
    )
  }
  for (const alert of Object.keys(FLOORED)) {
    const low = fires(alert, 'low traffic')
    t.ok(low.length > 0 && low.every(s => s.length > 0 && !s.includes(true)), `${alert}: low traffic does not fire`)
  }
})

// ---- promtool -----------------------------------------------------------------------------------------------

const noPromtool =
  spawnSync('promtool', ['--version']).error !== undefined &&
  'promtool is not installed (scripts/install-system-deps.sh installs it)'

interface Run {
  code: number | null
  signal: string | null
  out: string
}
/** promtool runs promtool with a bounded time; code is null if it was killed. */
function promtool(args: string[], cwd = ROOT): Promise<Run> {
  return new Promise(resolve => {
    execFile(
      'promtool',
      args,
      { cwd, timeout: 60_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
        resolve({ code, signal: err?.signal ?? null, out: `${stdout}${stderr}` })
      },
    )
  })
}

t.test('promtool check rules rules/rollback-triggers.yml', { skip: noPromtool }, async t => {
  const r = await promtool(['check', 'rules', 'rules/rollback-triggers.yml'])
  t.equal(r.code, 0, 'exit status 0', { output: r.out, signal: r.signal })
  t.match(r.out, `SUCCESS: ${rules.length} rules found`)
})

t.test('promtool test rules rules/tests/rollback-triggers.test.yml', { skip: noPromtool }, async t => {
  const r = await promtool(['test', 'rules', 'rules/tests/rollback-triggers.test.yml'])
  t.equal(r.code, 0, 'exit status 0', { output: r.out, signal: r.signal })
  t.match(r.out, /SUCCESS/)
  t.notMatch(r.out, /FAILED/)
})

t.test('without the floor, the low-traffic unit tests fail', { skip: noPromtool }, async t => {
  const dir = t.testdir({})
  mkdirSync(join(dir, 'tests'))
  cpSync(TESTS, join(dir, 'tests', 'rollback-triggers.test.yml'))
  // Drop every `and on (namespace, deployment) … >= N` clause: the rules as they were before the floor.
  const unfloored = text.replace(/\n\s*and on \(namespace, deployment\)\n[\s\S]*?\n\s*>= [0-9.]+\n/g, '\n')
  t.equal(rulesOf(unfloored).filter(r => floorOf(r.expr) !== undefined).length, 0, 'no floor left')
  writeFileSync(join(dir, 'rollback-triggers.yml'), unfloored)
  const r = await promtool(['test', 'rules', join('tests', 'rollback-triggers.test.yml')], dir)
  t.equal(r.code, 1, 'promtool test rules fails')
  t.match(r.out, /FAILED/)
  for (const alert of Object.keys(FLOORED))
    t.match(r.out, new RegExp(`name: ${alert} low traffic:`), `${alert}: its low-traffic test fails`)
  t.notMatch(r.out, /name: \w+ (sustained|blip):/, 'the other tests still pass')
})
