/**
 * Automatic rollbacks as the daemon sees them: the actions component and the Alertmanager webhook, each either
 * running or an explicit null object, wired to each other here and nowhere else. The webhook hands trigger events
 * to the actions; the actions tell the webhook about decisions (a trigger held back by a silence is reconsidered
 * on Alertmanager's next notification).
 */

import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { ActionsService, ActionsServiceDeps } from '../actions/service.js'
import { ConfigError, type Config } from '../config/load.js'
import type { GroupSnapshot } from '../engine/snapshot.js'
import type { Transition } from '../engine/types.js'
import { errorText } from '../errors.js'
import type { AlertmanagerWebhook } from '../webhook/component.js'
import type { ReloadPlan } from './plan-reload.js'

/** ActionsComponent is what the daemon does with the actions; NO_ACTIONS-like when `actions` was absent at start. */
export interface ActionsComponent {
  /** service is the running component (Daemon.actions), undefined when actions were not configured at start. */
  readonly service: ActionsService | undefined
  /** handle takes one evaluation's transitions. */
  handle(transitions: readonly Transition[]): void
  /** decideFiring decides the firing triggers of a group whose state was restored. */
  decideFiring(group: GroupSnapshot): void
  /** reload applies a reload that changed `actions` or `kubernetes`. */
  reload(next: Config, plan: ReloadPlan): void
  stop(): Promise<void>
}

/** WebhookComponent is the Alertmanager webhook; without a `webhook` section at start, a null object. */
export interface WebhookComponent {
  /** routes is the webhook's route for the HTTP server; undefined registers none. */
  readonly routes: AlertmanagerWebhook['routes'] | undefined
  decisionRecorded: AlertmanagerWebhook['decisionRecorded']
  reload(next: Config, previous: Config): void
}

/** Rollbacks are the two components, wired. */
export interface Rollbacks {
  readonly actions: ActionsComponent
  readonly webhook: WebhookComponent
}

/** RollbacksDeps are what the actions need from the daemon (ActionsServiceDeps without what is built here). */
export type RollbacksDeps = Omit<ActionsServiceDeps, 'logger' | 'registry'> & {
  readonly logger: Logger
  readonly registry: Registry
}

/**
 * RollbackModules are the components' modules, imported by the daemon only when their section is configured at
 * start (loadRollbackModules): a daemon without actions never loads the Kubernetes client, one without a webhook
 * none of the webhook's intake.
 */
export interface RollbackModules {
  readonly actions?: typeof ActionsService | undefined
  readonly webhook?: typeof AlertmanagerWebhook | undefined
}

/** loadRollbackModules imports the modules of the sections config has. */
export async function loadRollbackModules(config: Config): Promise<RollbackModules> {
  const [actions, webhook] = await Promise.all([
    config.doc.actions === undefined ? undefined : import('../actions/service.js'),
    config.doc.webhook === undefined ? undefined : import('../webhook/component.js'),
  ])
  return { actions: actions?.ActionsService, webhook: webhook?.AlertmanagerWebhook }
}

/**
 * buildRollbacks builds the actions and the webhook from their modules (each absent: its null object) and wires
 * them; throws ConfigError when the Kubernetes configuration cannot be loaded.
 */
export function buildRollbacks(config: Config, modules: RollbackModules, deps: RollbacksDeps): Rollbacks {
  const service = modules.actions
  const actions =
    service === undefined || config.doc.actions === undefined
      ? noActions(deps.logger)
      : liveActions(createService(service, config, deps), deps.logger)
  const webhook: WebhookComponent =
    modules.webhook?.create(config, {
      logger: deps.logger,
      registry: deps.registry,
      actions: () => actions.service,
    }) ?? noWebhook(deps.logger)
  actions.service?.onDecision(rec => webhook.decisionRecorded(rec))
  return { actions, webhook }
}

function createService(service: typeof ActionsService, config: Config, deps: RollbacksDeps): ActionsService {
  try {
    return service.create(config.doc, deps)
  } catch (err) {
    throw new ConfigError([`kubernetes: cannot load the Kubernetes configuration for actions: ${errorText(err)}`], {
      cause: err,
    })
  }
}

function liveActions(service: ActionsService, logger: Logger): ActionsComponent {
  return {
    service,
    handle: transitions => service.handle(transitions),
    decideFiring: group => service.decideFiring([group]),
    reload(next, plan) {
      if (plan.restartOnly.includes('kubernetes')) logger.warn('kubernetes settings change only on restart')
      if (!plan.actions) return
      if (next.doc.actions === undefined)
        logger.warn('actions were removed by the reload: rollback triggers are ignored until they are configured again')
      service.reload(next.doc.actions)
    },
    stop: () => service.stop(),
  }
}

function noActions(logger: Logger): ActionsComponent {
  return {
    service: undefined,
    handle: () => undefined,
    decideFiring: () => undefined,
    reload(next) {
      if (next.doc.actions !== undefined)
        logger.warn('actions were added by the reload; they start on the next restart')
    },
    stop: async () => undefined,
  }
}

function noWebhook(logger: Logger): WebhookComponent {
  return {
    routes: undefined,
    decisionRecorded: () => undefined,
    reload(next) {
      if (next.doc.webhook !== undefined)
        logger.warn('the webhook section was added by the reload; the webhook starts on the next restart')
    },
  }
}
