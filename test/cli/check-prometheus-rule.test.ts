// `rollguard check` on PrometheusRule files: one object, several documents, a List, an error deep in the second
// document, a ConfigMap; and the rule files the project ships, the PrometheusRule of deploy/ among them.
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { runCheck } from '../../src/cli/check.js'
import type { CheckIO } from '../../src/cli/check.js'

const dir = fileURLToPath(new URL('../fixtures/prometheus-rules/', import.meta.url))
const root = fileURLToPath(new URL('../../', import.meta.url))

async function check(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: CheckIO = { stdout: s => void (out += s), stderr: s => void (err += s) }
  const code = await runCheck(args, io)
  return { code, out, err }
}

t.test('one object, several documents and a List are valid rule files', async t => {
  for (const [file, rules] of [
    ['single.yaml', 2],
    ['multi.yaml', 3],
    ['list.yaml', 2],
  ] as const) {
    const r = await check([dir + file])
    t.equal(r.code, 0, file)
    t.equal(r.out, `Checking ${dir}${file}\n  SUCCESS: ${rules} rules found\n\n`)
    t.equal(r.err, '')
  }
})

t.test('an invalid rule in the second document: its line and column in the file, exit 1', async t => {
  const r = await check([`${dir}second-document.bad.yaml`, `${dir}single.yaml`])
  t.equal(r.code, 1)
  t.equal(
    r.err,
    `  FAILED:\n${dir}second-document.bad.yaml:25:67: PrometheusRule shop/payments: group "availability", rule 2, "PaymentsErrors": field 'expr': could not parse expression: unexpected "by" at char 51\n`,
  )
  t.match(r.out, `Checking ${dir}single.yaml\n  SUCCESS: 2 rules found\n`)
})

t.test('a ConfigMap holding a rule file: not a rule file, with the command that extracts it', async t => {
  const r = await check([`${dir}configmap.bad.yaml`])
  t.equal(r.code, 1)
  t.equal(
    r.err,
    `  FAILED:\n${dir}configmap.bad.yaml:1:1: kind ConfigMap is not a rule file: expected a Prometheus rule file (groups:) or a PrometheusRule (monitoring.coreos.com/v1); its data key "alerts.yml" holds a rule file: extract it with kubectl get configmap prometheus-rules -n monitoring -o jsonpath='{.data.alerts\\.yml}' > alerts.yml\n`,
  )
})

t.test('from standard input too', async t => {
  let out = ''
  let err = ''
  const io: CheckIO = {
    stdout: s => void (out += s),
    stderr: s => void (err += s),
    readStdin: async () =>
      'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: a}\nspec:\n  groups: [{name: g, rules: [{alert: A, expr: up}]}]\n',
  }
  t.equal(await runCheck([], io), 0)
  t.equal(out, 'Checking standard input\n  SUCCESS: 1 rules found\n\n')
  t.equal(err, '')
})

t.test('the rules the project ships pass: rules/ and the PrometheusRule of deploy/', async t => {
  const r = await check([`${root}rules/*.yml`, `${root}deploy/components/prometheus-operator/prometheusrule.yaml`])
  t.equal(r.code, 0, r.err)
  t.equal(r.err, '')
  t.match(r.out, /prometheusrule\.yaml\n {2}SUCCESS: [1-9]\d* rules found/)
  t.notMatch(r.out, /SUCCESS: 0 rules/)
})
