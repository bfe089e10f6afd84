import { z } from 'zod'
import { checkedBy, Duration } from '../config/primitives.js'
import { isTimeZone, parseCron } from './cron.js'
import { parseSelector } from './selector.js'

const Window = (defaultMs: number) => Duration.refine(ms => ms > 0, 'must be greater than 0').default(defaultMs)

const RateLimit = (count: number, windowMs: number) =>
  z.strictObject({ count: z.number().int().min(1).default(count), window: Window(windowMs) }).prefault({})

const AllowEntry = z
  .strictObject({
    namespace: z
      .string()
      .regex(/^[a-z0-9*-]+$/, 'must be a namespace name or a glob using "*" (e.g. "shop", "team-*", "*")')
      .optional(),
    selector: z.string().min(1, 'must not be empty').superRefine(checkedBy(parseSelector)).optional(),
    /** actions.gitops.mode for the workloads this entry allows. */
    gitops_mode: z.enum(['refuse', 'suspend', 'ignore']).optional(),
  })
  .refine(e => e.namespace !== undefined || e.selector !== undefined, {
    message: 'needs a namespace or a selector (write namespace: "*" to allow every namespace)',
  })

const CronWindow = z.strictObject({
  cron: z.string().superRefine(checkedBy(parseCron)),
  action: z.enum(['allow', 'deny']),
  time_zone: z.string().refine(isTimeZone, 'must be an IANA time zone such as "UTC" or "Europe/Berlin"').default('UTC'),
  name: z.string().min(1).optional(),
})

/**
 * SilenceSettings: whether Alertmanager silences veto rollbacks, what happens when no Alertmanager can be asked,
 * and how often a trigger held by a silence is checked again while it keeps firing. `enabled` absent means
 * "when alertmanager.urls is set".
 */
export const SilenceSettings = z
  .strictObject({
    enabled: z.boolean().optional(),
    on_error: z.enum(['skip', 'act']).default('skip'),
    recheck_interval: Window(60_000),
  })
  .prefault({})
export type SilenceSettings = z.infer<typeof SilenceSettings>

/**
 * CorrelationSettings: when triggers of `threshold` or more workloads in one scope go firing within `window` of
 * each other, none of them is rolled back (a shared cause is likelier than that many bad deploys). Each trigger
 * waits `settle` after going firing before it is decided, so that triggers of one outage are seen together.
 */
export const CorrelationSettings = z
  .strictObject({
    enabled: z.boolean().default(true),
    threshold: z.number().int().min(2).default(3),
    window: Window(300_000),
    scope: z.enum(['namespace', 'cluster']).default('cluster'),
    settle: Duration.default(60_000),
  })
  .prefault({})
export type CorrelationSettings = z.infer<typeof CorrelationSettings>

/**
 * GitOpsPolicy: what to do with a workload whose Argo CD Application, Flux Kustomization or HelmRelease would put
 * the rolled-back template back (refuse, suspend the owner first, or ignore); where Argo CD's Applications live
 * and its instance label (argocd-cm application.instanceLabelKey); how long a rollback of a GitOps-managed
 * workload is watched for a revert before it is called verified.
 */
export const GitOpsPolicy = z
  .strictObject({
    mode: z.enum(['refuse', 'suspend', 'ignore']).default('refuse'),
    argocd: z
      .strictObject({
        namespace: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name')
          .default('argocd'),
        instance_label_key: z.string().min(1).default('app.kubernetes.io/instance'),
      })
      .prefault({}),
    revert_window: Window(60_000),
  })
  .prefault({})
export type GitOpsPolicy = z.infer<typeof GitOpsPolicy>

/**
 * ActionsPolicy is the `actions` section of the config file: the safety policy for automatic rollbacks.
 * Durations are Prometheus duration strings, parsed to milliseconds. Every default is the safe one:
 * dry-run, an empty allowlist (nothing may be rolled back), no freeze overrides needed, and a silence
 * that cannot be checked blocks.
 */
export const ActionsPolicy = z.strictObject({
  mode: z.enum(['dry-run', 'execute']).default('dry-run'),
  allow: z.array(AllowEntry).default([]),
  post_deploy_window: Window(3_600_000),
  cooldown: Duration.default(1_800_000),
  max_rollbacks_per_workload: RateLimit(3, 86_400_000),
  global_brake: RateLimit(5, 3_600_000),
  freeze: z.boolean().default(false),
  windows: z.array(CronWindow).default([]),
  silences: SilenceSettings,
  /** A trigger whose condition began more than this before the current revision became current did not come from it. */
  fault_onset_tolerance: Duration.default(30_000),
  correlation: CorrelationSettings,
  gitops: GitOpsPolicy,
})
export type ActionsPolicy = z.infer<typeof ActionsPolicy>
