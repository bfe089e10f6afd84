import type { Config } from '../config/load.js'
import { joinUrlPath, redactUrl } from '../sources/http-auth.js'
import type { PrometheusSource } from '../sources/prometheus.js'
import { fail, ok, type Check } from './check.js'
import { get, httpStatus, parseJson } from './http.js'
import { errorText } from '../errors.js'

/** PrometheusCheck is the reachability check plus whether queries can be asked at all (the rule checks need them). */
export interface PrometheusCheck {
  readonly check: Check
  readonly answering: boolean
}

const NAME = 'prometheus'

/**
 * checkPrometheus asks GET /api/v1/status/buildinfo for the version (Prometheus, Thanos and Mimir serve it), then
 * the instant query `vector(1)` through the client rollguard run uses, which every Prometheus-compatible API answers.
 */
export async function checkPrometheus(config: Config, source: PrometheusSource, now: number): Promise<PrometheusCheck> {
  const { url, timeout, headers, max_response_bytes: maxResponseBytes } = config.doc.prometheus
  const shown = redactUrl(url)
  let version: string | undefined
  let servesBuildinfo = false
  try {
    const answer = await get(joinUrlPath(url, '/api/v1/status/buildinfo'), {
      timeoutMs: timeout,
      maxResponseBytes,
      limitKey: 'prometheus.max_response_bytes',
      headers,
      ...config.prometheusClient,
      peer: 'Prometheus',
    })
    if (answer.status === 401 || answer.status === 403) {
      const hint =
        'check prometheus.bearer_token_file or prometheus.basic_auth (or authorization, oauth2, custom headers) against what Prometheus or its proxy expects'
      return {
        check: fail(NAME, `Prometheus at ${shown} refused rollguard's credentials: ${httpStatus(answer)}`, hint),
        answering: false,
      }
    }
    servesBuildinfo = answer.status === 200
    version = buildVersion(parseJson(answer.body))
  } catch (err) {
    return { check: unreachable(shown, errorText(err)), answering: false }
  }
  try {
    await source.query('vector(1)', now)
  } catch (err) {
    const hint =
      'check that prometheus.url (--prometheus-url) is the base of a Prometheus-compatible query API (e.g. with the /prometheus prefix for Mimir)'
    return {
      check: fail(NAME, `Prometheus at ${shown} does not answer the query vector(1): ${errorText(err)}`, hint),
      answering: false,
    }
  }
  // VictoriaMetrics serves buildinfo with an empty data object.
  const unknown = servesBuildinfo
    ? 'version unknown: its /api/v1/status/buildinfo names none'
    : 'version unknown: it serves no /api/v1/status/buildinfo'
  const known = version === undefined ? unknown : `version ${version}`
  return { check: ok(NAME, `Prometheus at ${shown} answers queries (${known})`), answering: true }
}

function unreachable(url: string, reason: string): Check {
  const hint =
    'check prometheus.url (--prometheus-url, ROLLGUARD_PROMETHEUS_URL) and that Prometheus runs and can be reached from here; the rule checks need it'
  return fail(NAME, `Prometheus at ${url} is unreachable: ${reason}`, hint)
}

function buildVersion(json: unknown): string | undefined {
  const data = json as { status?: unknown; data?: { version?: unknown } } | undefined
  return data?.status === 'success' && typeof data.data?.version === 'string' ? data.data.version : undefined
}
