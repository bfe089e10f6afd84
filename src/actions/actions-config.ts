import { z } from 'zod'
import { Duration, LabelName, ResponseBytes } from '../config/primitives.js'
import { DEFAULT_LIMITS } from '../sources/bounded-body.js'
import { ActionsPolicy } from './policy-config.js'

// client-go's leader-election jitter (kube/lease.ts); not imported, so loading a config never loads the Kubernetes client.
const JITTER_FACTOR = 1.2
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const Positive = (defaultMs: number) => Duration.refine(ms => ms > 0, 'must be greater than 0').default(defaultMs)

/** TriggerSelector says which alerts are rollback triggers: those whose label `label` equals `value`. */
export const TriggerSelector = z
  .strictObject({ label: LabelName.default('rollguard_trigger'), value: z.string().min(1).default('rollback') })
  .prefault({})
export type TriggerSelector = z.infer<typeof TriggerSelector>

/** TargetLabels maps alert labels to the workload to roll back: the namespace label and one name label per kind. */
export const TargetLabels = z
  .strictObject({
    namespace: LabelName.default('namespace'),
    deployment: LabelName.default('deployment'),
    statefulset: LabelName.default('statefulset'),
    daemonset: LabelName.default('daemonset'),
  })
  .prefault({})
export type TargetLabels = z.infer<typeof TargetLabels>

/**
 * RetrySettings bound the retries of a rollback after a transient failure (5xx, 429, timeouts, connection errors):
 * at most `max_attempts` attempts in all, waiting initial_backoff × 2^(n-1), capped at max_backoff, with jitter.
 */
export const RetrySettings = z
  .strictObject({
    max_attempts: z.number().int().min(1).max(100).default(8),
    initial_backoff: Positive(1_000),
    max_backoff: Positive(30_000),
  })
  .refine(r => r.max_backoff >= r.initial_backoff, {
    message: 'max_backoff must not be less than initial_backoff',
    path: ['max_backoff'],
  })
  .prefault({})
export type RetrySettings = z.infer<typeof RetrySettings>

/** ActionsConfig is the `actions` section: the safety policy plus which alerts trigger and how a rollback is carried out and checked. */
export const ActionsConfig = ActionsPolicy.extend({
  trigger: TriggerSelector,
  targets: TargetLabels,
  verify_timeout: Positive(600_000),
  retry: RetrySettings,
  /**
   * How long the trigger is watched after a verified rollback before the rollback is called ineffective. Absent:
   * the rule's `for` plus its longest range window (own rules), webhook_effectiveness_window for webhook alerts.
   */
  effectiveness_window: Duration.refine(ms => ms > 0, 'must be greater than 0').optional(),
  webhook_effectiveness_window: Positive(600_000),
})
export type ActionsConfig = z.infer<typeof ActionsConfig>

const Lease = z
  .strictObject({
    enabled: z.boolean().default(true),
    namespace: z.string().regex(DNS_LABEL, 'must be a namespace name').optional(),
    name: z
      .string()
      .max(253)
      .regex(DNS_SUBDOMAIN, 'must be a DNS subdomain (lower-case letters, digits, "-" and ".")')
      .default('rollguard'),
    lease_duration: Duration.default(15_000),
    renew_deadline: Duration.default(10_000),
    retry_period: Positive(2_000),
    identity: z.string().min(1).max(128).optional(),
  })
  .superRefine((l, ctx) => {
    // client-go's checks (LeaseElector validates the same): a renewal must fit into the lease, and retries into a renewal.
    if (l.lease_duration < 1000)
      ctx.addIssue({
        code: 'custom',
        path: ['lease_duration'],
        message: 'must be at least 1s (the Lease stores whole seconds)',
      })
    if (l.lease_duration <= l.renew_deadline)
      ctx.addIssue({ code: 'custom', path: ['renew_deadline'], message: 'must be less than lease_duration' })
    if (l.renew_deadline <= JITTER_FACTOR * l.retry_period) {
      ctx.addIssue({
        code: 'custom',
        path: ['renew_deadline'],
        message: `must be greater than ${JITTER_FACTOR} × retry_period`,
      })
    }
  })
  .prefault({})

/** KubernetesConfig is the `kubernetes` section: how to reach the cluster and the leader-election Lease; used only when actions are configured. */
export const KubernetesConfig = z
  .strictObject({
    kubeconfig: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    in_cluster: z.union([z.literal('auto'), z.boolean()]).default('auto'),
    request_timeout: Positive(10_000),
    max_response_bytes: ResponseBytes(DEFAULT_LIMITS.kubernetes),
    lease: Lease,
  })
  .refine(k => !(k.in_cluster === true && k.kubeconfig !== undefined), {
    message: 'in_cluster: true and kubeconfig are mutually exclusive',
    path: ['in_cluster'],
  })
  .prefault({})
export type KubernetesConfig = z.infer<typeof KubernetesConfig>
