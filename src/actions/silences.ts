/**
 * Alertmanager silences as a veto on rollbacks: asks every configured Alertmanager (GET /api/v2/silences) whether
 * an active silence matches the trigger alert, with the notifier's URLs, timeout and credentials. All silences are
 * fetched and matched here (matchers.ts), not through the API's `filter` parameter, whose semantics differ between
 * Alertmanager versions. Answers are combined as an HA cluster's: a matching silence on any Alertmanager vetoes;
 * if none answered, the check failed (policy: actions.silences.on_error); otherwise nothing matches.
 */

import { isDeepStrictEqual } from 'node:util'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Labels } from '../engine/types.js'
import { DEFAULT_LIMITS, readBody } from '../sources/bounded-body.js'
import { bodySnippet, joinUrlPath, redactUrl } from '../sources/http-auth.js'
import { HttpClient, type HttpClientOptions } from '../sources/http-transport.js'
import { parseJsonSliced, Slices } from '../sources/sliced-json.js'
import type { SilenceCheck, SilenceChecker } from './attempt.js'
import { formatMatcher, matcherFromSilence, matchesAll } from './matchers.js'
import type { SilenceState } from './policy.js'
import type { AlertInfo } from './trigger.js'
import { abortText, errorText } from '../errors.js'

/** Silence is what rollguard uses of one gettableSilence (times in Unix ms). */
export interface Silence {
  readonly id: string
  readonly state: string
  readonly matchers: ReadonlyArray<{
    readonly name: string
    readonly value: string
    readonly isRegex: boolean
    readonly isEqual?: boolean | undefined
  }>
  readonly startsAt: number
  readonly endsAt: number
  readonly createdBy: string
  readonly comment: string
}

/** SilenceMatch is one Alertmanager's answer for one alert. */
export type SilenceMatch =
  | { readonly kind: 'silenced'; readonly silence: Silence }
  | { readonly kind: 'none' }
  | { readonly kind: 'error'; readonly error: string }

const Time = z.string().transform((s, ctx) => {
  const ms = Date.parse(s)
  if (Number.isNaN(ms)) ctx.addIssue({ code: 'custom', message: `not a time: ${JSON.stringify(s)}` })
  return ms
})

// Only the fields rollguard reads; Alertmanager adds others (updatedAt) and may add more.
const GettableSilence = z.object({
  id: z.string(),
  status: z.object({ state: z.string() }),
  matchers: z.array(
    z.object({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean().optional() }),
  ),
  startsAt: Time,
  endsAt: Time,
  createdBy: z.string(),
  comment: z.string(),
})

/**
 * parseSilences reads a GET /api/v2/silences body; rejects naming the first field that does not fit. A big list
 * (thousands of silences, expired ones included) is parsed and checked in slices: the checks cost ~25 µs a
 * silence, and the daemon must keep answering meanwhile.
 */
export async function parseSilences(body: string | Buffer): Promise<Silence[]> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  const slices = new Slices()
  let json: unknown
  try {
    json = await parseJsonSliced(bytes, slices)
  } catch (err) {
    throw new Error(`the response is not JSON: ${bodySnippet(bytes.toString('utf8', 0, 4096))}`, { cause: err })
  }
  if (!Array.isArray(json)) throw unexpected(z.array(z.unknown()).safeParse(json).error?.issues[0], [])
  const silences = new Array<Silence>(json.length)
  for (let i = 0; i < json.length; i++) {
    if (i % 64 === 0) await slices.tick()
    const parsed = GettableSilence.safeParse(json[i])
    if (!parsed.success) throw unexpected(parsed.error.issues[0], [i])
    silences[i] = { ...parsed.data, state: parsed.data.status.state }
  }
  return silences
}

function unexpected(issue: z.core.$ZodIssue | undefined, prefix: readonly PropertyKey[]): Error {
  const path = [...prefix, ...(issue?.path ?? [])].map(String).join('.')
  return new Error(`unexpected silences response at ${path || 'top level'}: ${issue?.message ?? 'not a list'}`)
}

/**
 * matchSilences finds an active silence (state "active" and startsAt <= now < endsAt) whose matchers all match
 * the labels. A silence whose regex cannot be evaluated here makes the answer an error unless another one
 * matches: it might be the one that silences the alert.
 */
export function matchSilences(silences: readonly Silence[], labels: Labels, now: number): SilenceMatch {
  const unusable: string[] = []
  for (const s of silences) {
    if (s.state !== 'active' || !(s.startsAt <= now && now < s.endsAt)) continue
    let matched: boolean
    try {
      matched = matchesAll(s.matchers.map(matcherFromSilence), labels)
    } catch (err) {
      unusable.push(`silence ${s.id}: ${errorText(err)}`)
      continue
    }
    if (matched) return { kind: 'silenced', silence: s }
  }
  if (unusable.length > 0) return { kind: 'error', error: `cannot evaluate ${unusable.join('; ')}` }
  return { kind: 'none' }
}

/** combineAnswers merges the Alertmanagers' answers (in config order): any silence vetoes; no answer at all is unknown. */
export function combineAnswers(
  answers: ReadonlyArray<{ readonly alertmanager: string; readonly match: SilenceMatch }>,
): SilenceState {
  for (const { alertmanager, match } of answers) {
    if (match.kind !== 'silenced') continue
    const s = match.silence
    const matchers = s.matchers.map(m =>
      formatMatcher({
        name: m.name,
        value: m.value,
        type: m.isRegex ? (m.isEqual === false ? '!~' : '=~') : m.isEqual === false ? '!=' : '=',
      }),
    )
    return {
      state: 'silenced',
      id: s.id,
      createdBy: s.createdBy,
      comment: s.comment,
      endsAt: s.endsAt,
      matchers,
      alertmanager,
    }
  }
  if (answers.some(a => a.match.kind === 'none')) return { state: 'none' }
  const errors = answers.map(a => `${a.alertmanager}: ${(a.match as { error: string }).error}`)
  return { state: 'unknown', error: errors.length === 0 ? 'no Alertmanager to ask' : errors.join('; ') }
}

/**
 * alertmanagerLabels are the labels Alertmanager has for the alert: a rule alert's plus every external label it
 * lacks or has empty (as the notifier adds them, toPostableAlert); a webhook alert's as received.
 */
export function alertmanagerLabels(alert: AlertInfo, externalLabels: Labels): Labels {
  if (alert.origin !== 'rules') return alert.labels
  const labels: Record<string, string> = { ...alert.labels }
  for (const [name, value] of Object.entries(externalLabels)) {
    if (value !== '' && (!Object.hasOwn(labels, name) || labels[name] === '')) labels[name] = value
  }
  return labels
}

/** AlertmanagerAccess is how the notifier reaches the Alertmanagers (alertmanager.* config, current after reloads). */
export interface AlertmanagerAccess extends HttpClientOptions {
  readonly urls: readonly string[]
  readonly timeoutMs: number
  /** The largest silences answer read (after decompression); default DEFAULT_LIMITS.alertmanager. */
  readonly maxResponseBytes?: number | undefined
}

/** SilenceCheckResult is the `result` label of rollguard_silence_checks_total. */
export type SilenceCheckResult = 'silenced' | 'none' | 'error'

/** AlertmanagerSilencesOptions configure the checker; `cacheMs` (default 1000) is how long a non-fresh check may reuse an answer. */
export interface AlertmanagerSilencesOptions {
  readonly access: () => AlertmanagerAccess
  readonly externalLabels: () => Labels
  readonly now?: () => number
  readonly cacheMs?: number
  readonly userAgent?: string
  readonly logger?: Logger
  readonly onCheck?: (result: SilenceCheckResult) => void
}

interface Cached {
  readonly at: number
  readonly silences: Promise<Silence[]>
}

/** AlertmanagerSilences is the SilenceChecker that asks the configured Alertmanagers. */
export class AlertmanagerSilences implements SilenceChecker {
  // The client of the current access settings: a reload with other ones (a rotated CA) gets a new one.
  #client: { readonly access: AlertmanagerAccess; readonly client: HttpClient } | undefined
  readonly #cache = new Map<string, Cached>()
  #accessSeen: AlertmanagerAccess | undefined

  constructor(private readonly opts: AlertmanagerSilencesOptions) {}

  /** check answers for one alert; undefined when there is no Alertmanager to ask and the check is not required. Never throws. */
  async check(alert: AlertInfo, opts: SilenceCheck): Promise<SilenceState | undefined> {
    const access = this.opts.access()
    // New URLs or credentials (a reload) must not be answered from the old ones' cache.
    if (!isDeepStrictEqual(access, this.#accessSeen)) this.#cache.clear()
    this.#accessSeen = access
    if (access.urls.length === 0 && !opts.required) return undefined
    const labels = alertmanagerLabels(alert, this.opts.externalLabels())
    const state: SilenceState =
      access.urls.length === 0
        ? {
            state: 'unknown',
            error: 'actions.silences.enabled is true but no Alertmanager is configured (alertmanager.urls)',
          }
        : await this.#ask(access, labels, opts)
    this.opts.onCheck?.(state.state === 'unknown' ? 'error' : state.state)
    if (state.state === 'unknown')
      this.opts.logger?.warn({ alert: alert.name, err: state.error }, 'Alertmanager silences could not be checked')
    return state
  }

  #clientFor(access: AlertmanagerAccess): HttpClient {
    const current = this.#client
    if (current !== undefined && isDeepStrictEqual(current.access, access)) return current.client
    current?.client.close()
    const client = new HttpClient({ ...access, peer: 'Alertmanager', section: 'alertmanager' })
    this.#client = { access, client }
    return client
  }

  /** close releases the connections. */
  close(): void {
    this.#client?.client.close()
    this.#client = undefined
    this.#cache.clear()
  }

  #now(): number {
    return (this.opts.now ?? Date.now)()
  }

  async #ask(access: AlertmanagerAccess, labels: Labels, opts: SilenceCheck): Promise<SilenceState> {
    const answers = Promise.all(
      access.urls.map(async url => {
        const alertmanager = redactUrl(url)
        try {
          const silences = await this.#silences(url, access, opts.fresh)
          // Matched at the time of use, so a cached answer never counts a silence past its endsAt.
          return { alertmanager, match: matchSilences(silences, labels, this.#now()) }
        } catch (err) {
          this.opts.logger?.debug({ alertmanager, err: errorText(err) }, 'cannot read silences')
          return { alertmanager, match: { kind: 'error', error: errorText(err) } as const }
        }
      }),
    ).then(combineAnswers)
    return opts.signal === undefined ? answers : unlessAborted(answers, opts.signal)
  }

  #silences(url: string, access: AlertmanagerAccess, fresh: boolean): Promise<Silence[]> {
    const cached = this.#cache.get(url)
    const now = this.#now()
    if (!fresh && cached !== undefined && now - cached.at < (this.opts.cacheMs ?? 1_000)) return cached.silences
    const silences = this.#fetch(url, access)
    this.#cache.set(url, { at: now, silences })
    // A failed request is not an answer to reuse.
    silences.catch(() => {
      if (this.#cache.get(url)?.silences === silences) this.#cache.delete(url)
    })
    return silences
  }

  // Not aborted by one caller's signal: other checks may share the answer; the timeout bounds it.
  async #fetch(url: string, access: AlertmanagerAccess): Promise<Silence[]> {
    const deadline = AbortSignal.timeout(access.timeoutMs)
    const headers = { Accept: 'application/json', 'User-Agent': this.opts.userAgent ?? 'rollguard' }
    const maxBytes = access.maxResponseBytes ?? DEFAULT_LIMITS.alertmanager
    try {
      const res = await this.#clientFor(access).request(joinUrlPath(url, '/api/v2/silences'), {
        method: 'GET',
        headers,
        signal: deadline,
        shownAs: url,
      })
      // Counted as it streams in, after decompression; past the bound the response is destroyed.
      const body = await readBody(res, { maxBytes, key: 'alertmanager.max_response_bytes' })
      const status = res.statusCode ?? 0
      if (status < 200 || status >= 300) {
        throw new Error(
          `HTTP ${`${status} ${res.statusMessage ?? ''}`.trimEnd()}: ${bodySnippet(body.toString('utf8', 0, 4096))}`,
        )
      }
      return await parseSilences(body)
    } catch (err) {
      if (deadline.aborted) throw new Error(`no response within ${access.timeoutMs}ms`, { cause: err })
      throw err instanceof Error ? err : new Error(errorText(err))
    }
  }
}

/** unlessAborted settles with the answer, or with "unknown" as soon as the signal aborts (the requests run on, bounded by the timeout). */
async function unlessAborted(answer: Promise<SilenceState>, signal: AbortSignal): Promise<SilenceState> {
  let release = () => {}
  const aborted = new Promise<SilenceState>(resolve => {
    const onAbort = () =>
      resolve({
        state: 'unknown',
        error: `not checked: ${abortText(signal)}`,
      })
    if (signal.aborted) return onAbort()
    // The signal outlives this check (it is the leadership's): the listener must not.
    signal.addEventListener('abort', onAbort, { once: true })
    release = () => signal.removeEventListener('abort', onAbort)
  })
  try {
    return await Promise.race([answer, aborted])
  } finally {
    release()
  }
}
