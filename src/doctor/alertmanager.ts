import type { Config } from '../config/load.js'
import { joinUrlPath, redactUrl } from '../sources/http-auth.js'
import { fail, ok, warn, type Check } from './check.js'
import { get, httpStatus, parseJson } from './http.js'
import { errorText } from '../errors.js'

const NAME = 'alertmanager'

/** checkAlertmanagers asks every configured Alertmanager for GET /api/v2/status, with rollguard run's credentials. */
export async function checkAlertmanagers(config: Config): Promise<Check[]> {
  const { urls, timeout, headers, max_response_bytes: maxResponseBytes } = config.doc.alertmanager
  if (urls.length === 0) {
    return [
      warn(
        NAME,
        'no Alertmanager configured: alerts are evaluated but sent nowhere',
        'set alertmanager.urls (--alertmanager-url, ROLLGUARD_ALERTMANAGER_URL)',
      ),
    ]
  }
  return Promise.all(
    urls.map(async url => {
      const shown = redactUrl(url)
      try {
        const answer = await get(joinUrlPath(url, '/api/v2/status'), {
          timeoutMs: timeout,
          maxResponseBytes,
          limitKey: 'alertmanager.max_response_bytes',
          headers,
          ...config.alertmanagerClient,
          peer: 'Alertmanager',
        })
        if (answer.status === 401 || answer.status === 403) {
          return fail(
            NAME,
            `Alertmanager at ${shown} refused rollguard's credentials: ${httpStatus(answer)}`,
            'check alertmanager.bearer_token_file or alertmanager.basic_auth (or authorization, oauth2, custom headers)',
          )
        }
        const status = parseJson(answer.body) as
          { versionInfo?: { version?: unknown }; cluster?: { status?: unknown } } | undefined
        if (answer.status !== 200 || status === undefined) {
          return fail(
            NAME,
            `Alertmanager at ${shown} does not serve its v2 API: GET /api/v2/status answered ${httpStatus(answer)}`,
            'check the URL: it is the Alertmanager base URL (with its --web.route-prefix, if any), and Alertmanager must be 0.16 or newer',
          )
        }
        const version =
          typeof status.versionInfo?.version === 'string' ? `version ${status.versionInfo.version}` : 'version unknown'
        const cluster = typeof status.cluster?.status === 'string' ? `, cluster ${status.cluster.status}` : ''
        return ok(NAME, `Alertmanager at ${shown} answers (${version}${cluster})`)
      } catch (err) {
        return fail(
          NAME,
          `Alertmanager at ${shown} is unreachable: ${errorText(err)}`,
          'check alertmanager.urls (--alertmanager-url, ROLLGUARD_ALERTMANAGER_URL) and that Alertmanager runs and can be reached from here',
        )
      }
    }),
  )
}
