import { z } from 'zod'
import { MatcherString } from '../actions/matchers.js'
import { LabelName } from '../config/primitives.js'

/** DEFAULT_WEBHOOK_PATH is where Alertmanager POSTs notifications unless `webhook.path` says otherwise. */
export const DEFAULT_WEBHOOK_PATH = '/api/v1/webhook/alertmanager'

const MiB = 1024 * 1024

// No defaults: a label not named here is taken from actions.targets (as loaded with the same config).
const TargetOverrides = z.strictObject({
  namespace: LabelName.optional(),
  deployment: LabelName.optional(),
  statefulset: LabelName.optional(),
  daemonset: LabelName.optional(),
})

const BasicAuth = z.strictObject({ username: z.string().min(1), password_file: z.string().min(1) })

const WebhookAuth = z
  .strictObject({ bearer_token_file: z.string().min(1).optional(), basic_auth: BasicAuth.optional() })
  .refine(
    a => a.bearer_token_file !== undefined || a.basic_auth !== undefined,
    'needs bearer_token_file, basic_auth or both',
  )

/**
 * WebhookConfig is the `webhook` section: the Alertmanager webhook receiver. Authentication is required unless
 * explicitly switched off; `matchers` default to the actions trigger label, each of `targets` to `actions.targets`.
 */
export const WebhookConfig = z
  .strictObject({
    enabled: z.boolean().default(true),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]+$/, 'must be an absolute URL path such as /api/v1/webhook/alertmanager')
      .default(DEFAULT_WEBHOOK_PATH),
    auth: WebhookAuth.optional(),
    insecure_no_auth: z.boolean().default(false),
    matchers: z
      .array(MatcherString)
      .min(1, 'must list at least one matcher (alertname=~".+" matches every alert)')
      .optional(),
    targets: TargetOverrides.optional(),
    max_body_bytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * MiB)
      .default(MiB),
    rate_limit: z
      .strictObject({ per_second: z.number().positive().default(50), burst: z.number().int().min(1).default(200) })
      .prefault({}),
  })
  .superRefine((w, ctx) => {
    if (w.auth === undefined && !w.insecure_no_auth) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message:
          'is required: set auth.bearer_token_file and/or auth.basic_auth, or insecure_no_auth: true to accept unauthenticated requests',
      })
    }
    if (w.auth !== undefined && w.insecure_no_auth) {
      ctx.addIssue({ code: 'custom', path: ['insecure_no_auth'], message: 'cannot be true while auth is configured' })
    }
  })
export type WebhookConfig = z.infer<typeof WebhookConfig>
