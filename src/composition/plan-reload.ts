/**
 * planReload decides, from the running and the newly loaded configuration and rules, what a reload changes. It is
 * pure: the daemon applies the plan (composition/components.ts builds, daemon.ts swaps). Every comparison is
 * structural (deepEqual) over exactly what a component is built from (settings.ts), so an unchanged component keeps
 * running untouched — its connections, queues and timers — and a changed one is rebuilt or updated.
 */

import type { Config } from '../config/load.js'
import type { RuleGroupSpec } from '../engine/spec.js'
import { deepEqual } from '../runtime/deep-equal.js'
import { noDataSettings, notifierSettings, probeSpecs, prometheusSettings, watchedRules } from './settings.js'

/** Loaded is one side of a reload: a validated configuration and its rule groups. */
export interface Loaded {
  readonly config: Config
  readonly groups: readonly RuleGroupSpec[]
}

/** ReloadPlan says which components a reload rebuilds or updates, and which changes wait for a restart. */
export interface ReloadPlan {
  /** prometheus: the query client is replaced (prometheus.*). */
  readonly prometheus: boolean
  /** notifier: the Alertmanager notifier is replaced; the old one drains (alertmanager.*, external labels). */
  readonly notifier: boolean
  /** probes: the health prober restarts with the new probes. */
  readonly probes: boolean
  /** noData: the no-data watch takes the new rules or settings (and counts at once). */
  readonly noData: boolean
  /** actions: the `actions` section changed (added, removed or edited). */
  readonly actions: boolean
  /** webhook: the webhook's settings changed (its section, the actions it maps triggers with, its credentials). */
  readonly webhook: boolean
  /** heapGrowth: runtime.heap_growth_percent changed (runtime/heap.ts). */
  readonly heapGrowth: boolean
  /** restartOnly lists the settings that changed but take effect only on restart. */
  readonly restartOnly: readonly RestartOnly[]
}

/** RestartOnly names a changed setting that a reload cannot apply. */
export type RestartOnly = 'web.listen_address' | 'kubernetes'

/** planReload compares what each component is built from in previous and next. */
export function planReload(previous: Loaded, next: Loaded): ReloadPlan {
  const changed = <T>(of: (loaded: Loaded) => T): boolean => !deepEqual(of(previous), of(next))
  const restartOnly: RestartOnly[] = []
  if (changed(l => l.config.doc.web.listen_address)) restartOnly.push('web.listen_address')
  if (changed(l => l.config.doc.kubernetes)) restartOnly.push('kubernetes')
  return {
    prometheus: changed(l => prometheusSettings(l.config)),
    notifier: changed(l => notifierSettings(l.config)),
    probes: changed(l => probeSpecs(l.config)),
    noData: changed(l => [noDataSettings(l.config), watchedRules(l.groups)]),
    actions: changed(l => l.config.doc.actions),
    webhook: changed(l => [l.config.doc.webhook, l.config.doc.actions, l.config.webhookCredentials]),
    heapGrowth: changed(l => l.config.doc.runtime.heap_growth_percent),
    restartOnly,
  }
}
