import { z } from 'zod'
import { Duration } from '../../config/primitives.js'

// client-go's leader-election jitter (actions/kube/lease.ts); not imported, so loading a config never loads the
// Kubernetes client.
const JITTER_FACTOR = 1.2
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/**
 * ShardingConfig is the `sharding` section (docs/sharding.md): replicas split the rule groups, each announcing
 * itself with its own Lease `<lease_prefix>-<identity>` in `namespace`; timings as client-go's leader election.
 */
export const ShardingConfig = z
  .strictObject({
    enabled: z.boolean().default(false),
    // Absent: the namespace of the kubeconfig context (the pod's own namespace in-cluster).
    namespace: z.string().regex(DNS_LABEL, 'must be a namespace name').optional(),
    // Also the value of the rollguard.dev/shard label the members are listed by: replicas with the same prefix share.
    lease_prefix: z
      .string()
      .max(40)
      .regex(DNS_LABEL, 'must be a DNS label (lower-case letters, digits, "-")')
      .default('rollguard-member'),
    lease_duration: Duration.default(15_000),
    renew_deadline: Duration.default(10_000),
    retry_period: Duration.refine(ms => ms > 0, 'must be greater than 0').default(2_000),
    // Absent: the host name (the pod name in Kubernetes), so a restarted container takes its own Lease back.
    identity: z.string().min(1).max(128).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.lease_duration < 1000)
      ctx.addIssue({
        code: 'custom',
        path: ['lease_duration'],
        message: 'must be at least 1s (the Lease stores whole seconds)',
      })
    if (s.lease_duration <= s.renew_deadline)
      ctx.addIssue({ code: 'custom', path: ['renew_deadline'], message: 'must be less than lease_duration' })
    if (s.renew_deadline <= JITTER_FACTOR * s.retry_period)
      ctx.addIssue({
        code: 'custom',
        path: ['renew_deadline'],
        message: `must be greater than ${JITTER_FACTOR} × retry_period`,
      })
  })
  .prefault({})
export type ShardingConfig = z.infer<typeof ShardingConfig>
