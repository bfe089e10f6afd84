import { z } from 'zod'
import { ActionsConfig, KubernetesConfig } from '../actions/actions-config.js'
import { WebhookConfig } from '../webhook/config.js'
import { ShardingConfig } from '../runtime/sharding/config.js'
import { DEFAULT_RULE_LIMITS } from '../rules/limits.js'
import { DEFAULT_LIMITS } from '../sources/bounded-body.js'
import { HTTP_CLIENT_KEYS } from '../sources/http-client.js'
import { Duration, LabelName, ResponseBytes } from './primitives.js'
import { AlertSourceError, compileAlertSource } from '../engine/alert-source.js'
import { DEFAULT_HEAP_GROWTH_PERCENT } from '../runtime/heap.js'

export { Duration } from './primitives.js'

const HttpUrl = z.string().refine(s => /^https?:\/\/[^/]/.test(s) && URL.canParse(s), {
  message: 'must be an http:// or https:// URL',
})

/**
 * trimExternalURL drops the trailing slashes of a URL's path, as Prometheus's computeExternalURL does for
 * --web.external-url: `http://x/prom/` is `http://x/prom`, `http://x/` is `http://x`, so `$externalURL/…` never
 * has `//`. The query and fragment, if any, stay.
 */
export function trimExternalURL(url: string): string {
  const cut = url.search(/[?#]/)
  const [base, rest] = cut < 0 ? [url, ''] : [url.slice(0, cut), url.slice(cut)]
  return base.replace(/\/+$/, '') + rest
}

/** ExternalURL is an http(s) URL people's browsers reach; as in Prometheus, quotes are refused and trailing slashes dropped. */
const ExternalURL = HttpUrl.refine(s => !/^["']|["']$/.test(s), {
  message: 'must not begin or end with quotes',
}).transform(trimExternalURL)

/** AlertSourceURL is the alert-source template (src/engine/alert-source.ts): it compiles and renders an http(s) URL. */
const AlertSourceURL = z.string().superRefine((s, ctx) => {
  let url
  try {
    url = compileAlertSource(s).render({
      expr: 'up',
      alertName: 'A',
      groupName: 'g',
      labels: {},
      externalURL: 'http://rollguard.invalid',
      prometheusURL: 'http://prometheus.invalid',
    })
  } catch (err) {
    if (!(err instanceof AlertSourceError)) throw err
    ctx.addIssue({ code: 'custom', message: err.message })
    return
  }
  if (!HttpUrl.safeParse(url).success)
    ctx.addIssue({
      code: 'custom',
      message: `must render an http:// or https:// URL (it renders ${JSON.stringify(url)}; start it with {{ .PrometheusURL }}, {{ .ExternalURL }} or a URL)`,
    })
})

const Labels = z.record(LabelName, z.string())

// Prometheus's HTTP client keys (tls_config, authorization, basic_auth, bearer_token_file, headers): docs/http-config.md.
const Client = {
  timeout: Duration.optional(),
  ...HTTP_CLIENT_KEYS,
}

/** StatusMatch is an expected probe status: a code (200) or a class ("2xx"). */
const StatusMatch = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^[1-5]xx$/, 'must be a status code or a class like "2xx"'),
])

/** ProbeConfig is one health endpoint polled by the daemon. */
export const ProbeConfig = z.strictObject({
  // Prometheus's http_config, as for prometheus.* (docs/http-config.md); headers is the probe's own below.
  ...HTTP_CLIENT_KEYS,
  name: z.string().min(1),
  url: HttpUrl,
  interval: Duration.default(15_000),
  timeout: Duration.default(5_000),
  method: z.enum(['GET', 'HEAD']).default('GET'),
  expected_status: z.array(StatusMatch).min(1).default(['2xx']),
  headers: z.record(z.string(), z.string()).default({}),
  labels: Labels.default({}),
})
export type ProbeConfig = z.infer<typeof ProbeConfig>

/** ConfigDocument is the merged configuration (file, env and flags), validated as one document. */
export const ConfigDocument = z.strictObject({
  global: z.strictObject({ external_labels: Labels.default({}) }).prefault({}),
  // prefault: an absent section still reports the missing url by name (the cast: url has no default).
  prometheus: z
    .strictObject({
      url: HttpUrl,
      // The URL browsers reach Prometheus at, for links (alert sources, /graph), when url is an internal address.
      external_url: ExternalURL.optional(),
      ...Client,
      timeout: Duration.default(30_000),
      max_response_bytes: ResponseBytes(DEFAULT_LIMITS.prometheus),
    })
    .prefault({} as never),
  alertmanager: z
    .strictObject({
      urls: z.array(HttpUrl).default([]),
      ...Client,
      timeout: Duration.default(10_000),
      // Silences (GET /api/v2/silences) and doctor's status check; the answers to alert POSTs are cut at 64 KiB.
      max_response_bytes: ResponseBytes(DEFAULT_LIMITS.alertmanager),
      queue_capacity: z.number().int().positive().default(10_000),
      batch_size: z.number().int().positive().default(256),
    })
    .prefault({}),
  rules: z
    .strictObject({
      files: z.array(z.string().min(1)).default([]),
      evaluation_interval: Duration.default(60_000).refine(ms => ms > 0, 'must be greater than 0'),
      resend_delay: Duration.default(60_000),
      max_concurrent_queries: z.number().int().min(1).max(1024).default(16),
      // One query for rules that differ only in the value of a label their expression keeps (docs/query-coalescing.md).
      query_coalescing: z.boolean().default(true),
      // How far back alert state is reconstructed at start (0: never): the longest for + keep_firing_for it covers.
      restore_window: Duration.default(3_600_000),
      // Groups restoring at once, daemon-wide: a start with thousands of groups queues them (src/runtime/restore-hook.ts).
      max_concurrent_restores: z.number().int().min(1).max(1024).default(16),
      // The no-data watch (src/nodata): how often each rule selector's series are counted (0s: never), and how long
      // none of a rule's selectors may match before the rule is flagged as "no data".
      no_data_check_interval: Duration.default(60_000),
      no_data_for: Duration.default(600_000),
      // Bounds on one rule file (src/rules/limits.ts, docs/limits.md): a runaway file fails fast with a clear error.
      max_file_bytes: z.number().int().positive().default(DEFAULT_RULE_LIMITS.maxFileBytes),
      max_groups_per_file: z.number().int().positive().default(DEFAULT_RULE_LIMITS.maxGroupsPerFile),
      max_rules_per_file: z.number().int().positive().default(DEFAULT_RULE_LIMITS.maxRulesPerFile),
      max_labels_per_rule: z.number().int().positive().default(DEFAULT_RULE_LIMITS.maxLabelsPerRule),
      max_annotations_per_rule: z.number().int().positive().default(DEFAULT_RULE_LIMITS.maxAnnotationsPerRule),
    })
    .prefault({}),
  web: z
    .strictObject({
      listen_address: z
        .string()
        .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'must be HOST:PORT')
        .default('0.0.0.0:9099'),
      external_url: ExternalURL.optional(),
      // The generatorURL ("Source" link) of alerts sent (docs/links.md); default: the expression in Prometheus's graph page.
      alert_source_url: AlertSourceURL.optional(),
      // Prometheus's --web.enable-lifecycle: POST/PUT /-/reload answers 403 without it (SIGHUP always reloads).
      enable_lifecycle: z.boolean().default(false),
      // --web.config.file: TLS and auth on the listener, read into Config.webConfig (src/server/web-config.ts).
      config_file: z.string().min(1).optional(),
      // The status page links each workload of a decision here, e.g. Headlamp or the Kubernetes Dashboard.
      workload_link: z
        .string()
        .refine(s => HttpUrl.safeParse(s.replace(/\{(namespace|name|kind|resource)\}/g, 'x')).success, {
          message: 'must be an http:// or https:// URL template using {namespace}, {name}, {kind}, {resource}',
        })
        .optional(),
    })
    .prefault({}),
  // Like Prometheus's runtime.gogc: how far V8's heap may grow over what is live before a full collection.
  runtime: z
    .strictObject({ heap_growth_percent: z.number().int().min(0).max(1000).default(DEFAULT_HEAP_GROWTH_PERCENT) })
    .prefault({}),
  log: z
    .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })
    .prefault({}),
  probes: z.array(ProbeConfig).default([]),
  // Absent: no actions at all (no Kubernetes access). `actions: {}` (or a bare `actions:`) enables them in dry-run.
  actions: z.preprocess(v => (v === null ? {} : v), ActionsConfig).optional(),
  kubernetes: KubernetesConfig,
  // Absent: no Alertmanager webhook route.
  webhook: WebhookConfig.optional(),
  // Off by default: replicas split the rule groups by member Leases (docs/sharding.md).
  sharding: ShardingConfig,
})
export type ConfigDocument = z.infer<typeof ConfigDocument>
