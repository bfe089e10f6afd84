import t from 'tap'
import { ActionsPolicy } from '../../src/actions/policy-config.js'

const issues = (input: unknown) => {
  const r = ActionsPolicy.safeParse(input)
  return r.success ? [] : r.error.issues.map(i => `${i.path.join('.')}: ${i.message}`)
}

t.test('every default is the safe one', async t => {
  t.same(ActionsPolicy.parse({}), {
    mode: 'dry-run',
    allow: [],
    post_deploy_window: 3_600_000,
    cooldown: 1_800_000,
    max_rollbacks_per_workload: { count: 3, window: 86_400_000 },
    global_brake: { count: 5, window: 3_600_000 },
    freeze: false,
    windows: [],
    silences: { on_error: 'skip', recheck_interval: 60_000 },
    fault_onset_tolerance: 30_000,
    correlation: { enabled: true, threshold: 3, window: 300_000, scope: 'cluster', settle: 60_000 },
    gitops: {
      mode: 'refuse',
      argocd: { namespace: 'argocd', instance_label_key: 'app.kubernetes.io/instance' },
      revert_window: 60_000,
    },
  })
})

t.test('gitops: modes per policy and per allow entry; bad values named', async t => {
  const p = ActionsPolicy.parse({
    gitops: { mode: 'suspend', argocd: { namespace: 'gitops' }, revert_window: '5m' },
    allow: [{ namespace: 'shop', gitops_mode: 'ignore' }],
  })
  t.match(p.gitops, {
    mode: 'suspend',
    argocd: { namespace: 'gitops', instance_label_key: 'app.kubernetes.io/instance' },
    revert_window: 300_000,
  })
  t.equal(p.allow[0]?.gitops_mode, 'ignore')
  t.throws(() => ActionsPolicy.parse({ gitops: { mode: 'fight' } }), /gitops/)
  t.throws(() => ActionsPolicy.parse({ allow: [{ namespace: 'shop', gitops_mode: 'sometimes' }] }), /gitops_mode/)
})

t.test('parses a full policy, durations as Prometheus durations', async t => {
  const p = ActionsPolicy.parse({
    mode: 'execute',
    allow: [
      { namespace: 'team-*' },
      { selector: 'app=checkout,tier in (be,fe)' },
      { namespace: 'shop', selector: '!canary' },
    ],
    post_deploy_window: '1h30m',
    cooldown: '0',
    max_rollbacks_per_workload: { count: 2 },
    global_brake: { window: '2h' },
    freeze: true,
    windows: [
      { cron: '* 9-17 * * MON-FRI', action: 'allow', time_zone: 'Europe/Berlin', name: 'business hours' },
      { cron: '* * 24-26 DEC *', action: 'deny' },
    ],
  })
  t.equal(p.mode, 'execute')
  t.equal(p.post_deploy_window, 5_400_000)
  t.equal(p.cooldown, 0)
  t.same(p.max_rollbacks_per_workload, { count: 2, window: 86_400_000 })
  t.same(p.global_brake, { count: 5, window: 7_200_000 })
  t.same(p.windows[1], { cron: '* * 24-26 DEC *', action: 'deny', time_zone: 'UTC' })
  t.equal(p.allow.length, 3)
  t.same(ActionsPolicy.parse({ silences: { enabled: false, on_error: 'act', recheck_interval: '15s' } }).silences, {
    enabled: false,
    on_error: 'act',
    recheck_interval: 15_000,
  })
})

t.test('invalid policies name the field and say what is wrong', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [{ mode: 'yolo' }, /^mode: /],
    [{ allow: [{}] }, /^allow\.0: needs a namespace or a selector \(write namespace: "\*" to allow every namespace\)$/],
    [{ allow: [{ namespace: 'Shop' }] }, /^allow\.0\.namespace: must be a namespace name or a glob/],
    [{ allow: [{ selector: '' }] }, /^allow\.0\.selector: must not be empty$/],
    [
      { allow: [{ selector: 'a in x' }] },
      /^allow\.0\.selector: invalid label selector "a in x": expected "\(" after "in", found "x" at column 6$/,
    ],
    [{ allow: [{ namespace: 'shop', extra: 1 }] }, /^allow\.0: Unrecognized key/],
    [{ post_deploy_window: '0' }, /^post_deploy_window: must be greater than 0$/],
    [{ post_deploy_window: 'soon' }, /^post_deploy_window: not a valid duration string/],
    [{ cooldown: '30x' }, /^cooldown: unknown unit "x"/],
    [{ max_rollbacks_per_workload: { count: 0 } }, /^max_rollbacks_per_workload\.count: /],
    [{ global_brake: { count: 1.5 } }, /^global_brake\.count: /],
    [{ global_brake: { window: '0' } }, /^global_brake\.window: must be greater than 0$/],
    [{ freeze: 'yes' }, /^freeze: /],
    [
      { windows: [{ cron: '* 25 * * *', action: 'deny' }] },
      /^windows\.0\.cron: invalid cron expression "\* 25 \* \* \*": hour "25": 25 is out of range \(0-23\)$/,
    ],
    [
      { windows: [{ cron: '* * * * *', action: 'deny', time_zone: 'Europe/Berlln' }] },
      /^windows\.0\.time_zone: must be an IANA time zone/,
    ],
    [{ windows: [{ cron: '* * * * *', action: 'maybe' }] }, /^windows\.0\.action: /],
    [{ windows: [{ cron: '* * * * *', action: 'deny', name: '' }] }, /^windows\.0\.name: /],
    [{ silences: { on_error: 'ignore' } }, /^silences\.on_error: /],
    [{ silences: { enabled: 'yes' } }, /^silences\.enabled: /],
    [{ silences: { recheck_interval: '0' } }, /^silences\.recheck_interval: must be greater than 0$/],
    [{ silences: { matchers: [] } }, /^silences: Unrecognized key/],
    [{ dry_run: true }, /Unrecognized key/],
  ]
  for (const [input, re] of cases) {
    const found = issues(input)
    t.equal(found.length, 1, JSON.stringify(found))
    t.match(found[0], re, JSON.stringify(input))
  }
})
