/**
 * The daemon's scalar options: one table drives flags, environment variables, config-file keys and --help,
 * so the three ways to set an option can never drift apart. Precedence: flag > env > file > default.
 */

/** OptionKind says how a raw string becomes a value. */
export type OptionKind =
  'string' | 'path' | 'url' | 'list' | 'url-list' | 'duration' | 'int' | 'label-list' | 'boolean' | 'listen'

/** OptionSpec describes one option. `path` is its key path in the config file. */
export interface OptionSpec {
  readonly flag: string
  readonly env: string
  readonly path: readonly string[]
  readonly kind: OptionKind
  readonly default?: string
  readonly help: string
}

const opt = (flag: string, path: string, kind: OptionKind, help: string, def?: string): OptionSpec => ({
  flag,
  env: `ROLLGUARD_${flag.replace(/[-.]/g, '_').toUpperCase()}`,
  path: path.split('.'),
  kind,
  help,
  ...(def === undefined ? {} : { default: def }),
})

/** RUN_OPTIONS are the options of `rollguard run`. */
export const RUN_OPTIONS: readonly OptionSpec[] = [
  opt(
    'prometheus-url',
    'prometheus.url',
    'url',
    'Base URL of the Prometheus-compatible query API (Prometheus, Thanos, Mimir, VictoriaMetrics).',
  ),
  opt(
    'prometheus-external-url',
    'prometheus.external_url',
    'url',
    "URL under which people's browsers reach Prometheus, when --prometheus-url is an internal address; used in alert source links and /graph. Default: --prometheus-url.",
  ),
  opt('prometheus-timeout', 'prometheus.timeout', 'duration', 'Timeout of one instant query.', '30s'),
  opt(
    'prometheus-max-response-bytes',
    'prometheus.max_response_bytes',
    'int',
    'Largest Prometheus answer read, in bytes after decompression; a bigger one fails its query (docs/limits.md).',
    '33554432',
  ),
  opt(
    'prometheus-bearer-token-file',
    'prometheus.bearer_token_file',
    'string',
    'File holding a bearer token for Prometheus.',
  ),
  opt(
    'prometheus-basic-auth-username',
    'prometheus.basic_auth.username',
    'string',
    'Basic-auth user name for Prometheus.',
  ),
  opt(
    'prometheus-basic-auth-password-file',
    'prometheus.basic_auth.password_file',
    'string',
    'File holding the basic-auth password for Prometheus.',
  ),
  opt(
    'alertmanager-url',
    'alertmanager.urls',
    'url-list',
    'Alertmanager base URL; repeat for an HA pair (alerts go to every one). Env: comma-separated.',
  ),
  opt('alertmanager-timeout', 'alertmanager.timeout', 'duration', 'Timeout of one POST to Alertmanager.', '10s'),
  opt(
    'alertmanager-bearer-token-file',
    'alertmanager.bearer_token_file',
    'string',
    'File holding a bearer token for Alertmanager.',
  ),
  opt(
    'alertmanager-basic-auth-username',
    'alertmanager.basic_auth.username',
    'string',
    'Basic-auth user name for Alertmanager.',
  ),
  opt(
    'alertmanager-basic-auth-password-file',
    'alertmanager.basic_auth.password_file',
    'string',
    'File holding the basic-auth password for Alertmanager.',
  ),
  opt(
    'rules',
    'rules.files',
    'list',
    'Rule file or glob (Prometheus rule-file format); repeatable. Env: comma-separated.',
  ),
  opt(
    'eval-interval',
    'rules.evaluation_interval',
    'duration',
    'Evaluation interval of groups that set no interval.',
    '1m',
  ),
  opt(
    'resend-delay',
    'rules.resend_delay',
    'duration',
    'Minimum delay before re-sending a firing alert (Prometheus --rules.alert.resend-delay).',
    '1m',
  ),
  opt('query-concurrency', 'rules.max_concurrent_queries', 'int', 'Queries in flight at once per group.', '16'),
  opt(
    'query-coalescing',
    'rules.query_coalescing',
    'boolean',
    'Answer rules evaluated at the same instants whose expressions differ only in a kept label\'s value (deployment="a", deployment="b") with one query, and count such selectors for the no-data watch with one query (docs/query-coalescing.md).',
    'true',
  ),
  opt(
    'heap-growth-percent',
    'runtime.heap_growth_percent',
    'int',
    "How far V8's heap may grow over the live objects before a full collection, in percent, like Go's GOGC (Prometheus runs at 75, Go's default is 100): less memory for more collection work; at 4,000 rules 50 used 3 % more CPU than 75 for a lower peak, and over half off the peak against V8's own heuristics (0), which let a busy heap grow to several times what is live. The young generation stays at V8's initial 1 MiB semi-spaces unless node is given --max-semi-space-size (NODE_OPTIONS) (docs/configuration.md#memory).",
    '50',
  ),
  opt(
    'sharding',
    'sharding.enabled',
    'boolean',
    'Split the rule groups between the replicas that hold a member Lease in Kubernetes (docs/sharding.md).',
    'false',
  ),
  opt(
    'sharding-namespace',
    'sharding.namespace',
    'string',
    "Namespace of the member Leases. Default: the namespace of the kubeconfig context (the pod's own in-cluster).",
  ),
  opt(
    'sharding-identity',
    'sharding.identity',
    'string',
    "This replica's member identity, unique among the replicas. Default: the host name (the pod name).",
  ),
  opt(
    'restore-window',
    'rules.restore_window',
    'duration',
    'At start, pending and firing alerts are rebuilt by replaying each rule over its last for + keep_firing_for, at most this far back (0: start fresh).',
    '1h',
  ),
  opt(
    'restore-concurrency',
    'rules.max_concurrent_restores',
    'int',
    'Rule groups restoring their alert state at once, daemon-wide; the others wait their turn within their deadline, max(prometheus.timeout, 2 intervals). Raise it for a datasource that answers many range queries at once but each slowly.',
    '16',
  ),
  opt(
    'no-data-check-interval',
    'rules.no_data_check_interval',
    'duration',
    'How often the series each rule selector matches are counted, to find rules that see no data (0s: never).',
    '1m',
  ),
  opt(
    'no-data-for',
    'rules.no_data_for',
    'duration',
    'A rule none of whose selectors matched a series for this long is flagged as "no data" (API, status page, log, rollguard_rule_no_data).',
    '10m',
  ),
  opt('listen', 'web.listen_address', 'listen', 'HOST:PORT of the HTTP server (API, metrics, health).', '0.0.0.0:9099'),
  opt(
    'external-url',
    'web.external_url',
    'url',
    "URL under which rollguard is reached (trailing slash dropped, as in Prometheus); used in $externalURL and the links of rollguard's own alerts. Default: http://<hostname>:<port>.",
  ),
  opt(
    'alert-source-url',
    'web.alert_source_url',
    'string',
    'Template of the generatorURL ("Source" link) of alerts sent, with {{ .Expr }}, {{ .Labels.NAME }}, {{ .PrometheusURL }}, ... and | queryEscape (docs/links.md). Default: {{ .PrometheusURL }}/graph?g0.expr={{ .Expr | queryEscape }}&g0.tab=1.',
  ),
  // Prometheus's own flag name, so the switch is found under the name people know it by.
  opt(
    'web.enable-lifecycle',
    'web.enable_lifecycle',
    'boolean',
    "Enable POST/PUT /-/reload (Prometheus's flag); without it /-/reload answers 403 and SIGHUP reloads. Even with it, requests a web page of another site could send are refused (see README).",
    'false',
  ),
  // Prometheus's flag name and file format (exporter-toolkit), so an existing web config file works as it is.
  opt(
    'web.config.file',
    'web.config_file',
    'path',
    "Prometheus's web configuration file (exporter-toolkit format): TLS, client certificates, basic auth and security headers on rollguard's listener (docs/web-config.md). Re-read on reload and when it or a file it names changes.",
  ),
  opt(
    'external-label',
    'global.external_labels',
    'label-list',
    'NAME=VALUE added to every alert sent (unless the alert has that label); repeatable. Env: comma-separated.',
  ),
  opt('log-level', 'log.level', 'string', 'Log level: debug, info, warn, error.', 'info'),
  opt(
    'actions-mode',
    'actions.mode',
    'string',
    'Automatic rollbacks: dry-run (decide, record and send only a server-side dry-run patch) or execute (roll back). Setting it enables actions, which are off without it or an actions: section in the config file.',
    'dry-run',
  ),
  opt(
    'kubeconfig',
    'kubernetes.kubeconfig',
    'path',
    'Kubeconfig file for actions. Default: in-cluster config when running in a pod, else $KUBECONFIG or ~/.kube/config.',
  ),
  opt('kube-context', 'kubernetes.context', 'string', 'Kubeconfig context to use. Default: the current context.'),
]

/** findOption looks an option up by flag name. */
export function findOption(flag: string): OptionSpec | undefined {
  return RUN_OPTIONS.find(o => o.flag === flag)
}
