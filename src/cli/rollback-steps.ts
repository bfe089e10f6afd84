// The work behind `rollguard rollback`: read, kubectl's undo with rollguard's record, follow the rollout, record an Event.
import { hostname } from 'node:os'
import {
  DEFAULT_REPORTER_CONTROLLER,
  readWorkload,
  recordEvent,
  refString,
  undoWorkload,
  type DryRun,
  type EventSpec,
  type KubeClients,
  type RecordAnnotation,
  type RecordContext,
  type RolledBack,
  type UndoResult,
  type WorkloadRef,
} from '../actions/kube/index.js'
import { classifyError } from '../actions/kube/errors.js'
import { lastAppliedWarning, revisionOf, type RawWorkload } from '../actions/kube/model.js'
import { ActionsPolicy } from '../actions/policy-config.js'
import {
  decodeRollbackRecord,
  encodeRollbackRecord,
  nextRollbackRecord,
  redeployedSince,
  ROLLBACK_ANNOTATION,
  type WorkloadFacts,
} from '../actions/policy.js'
import { followRollout } from './rollout-follow.js'
import type { CliIO } from './run.js'
import { kindName, oneLine, pluralOf, printError, type KubeFlags, type Target } from './workload-args.js'

/** RollbackOptions is a parsed `rollguard rollback` command line. */
export interface RollbackOptions {
  readonly target: Target
  readonly flags: KubeFlags
  /** 0: the previous revision (kubectl's default). */
  readonly toRevision: number
  readonly dryRun: boolean
  readonly wait: boolean
  /** Undefined: derived from the workload (see ROLLBACK_USAGE). */
  readonly timeoutMs: number | undefined
  readonly reason: string | undefined
}

/** MANUAL_ACTION is the Event action of a manual rollback (the daemon's automatic ones use their own). */
export const MANUAL_ACTION = 'ManualRollback'

const DEFAULT_DEADLINE_SECONDS = 600
const WAIT_MARGIN_MS = 60_000
// The CLI does not know the daemon's per-workload window, so it carries every earlier time forward (capped by the policy module).
const KEEP_HISTORY: ActionsPolicy = {
  ...ActionsPolicy.parse({}),
  max_rollbacks_per_workload: { count: 1, window: Number.MAX_SAFE_INTEGER },
}

interface Run {
  readonly clients: KubeClients
  readonly ref: WorkloadRef
  readonly opts: RollbackOptions
  readonly io: CliIO
  readonly pollMs: number
  readonly live: RawWorkload
  readonly name: string
}

/** rollBack runs one manual rollback and returns the exit code; it never throws for API errors. */
export async function rollBack(
  clients: KubeClients,
  ref: WorkloadRef,
  opts: RollbackOptions,
  io: CliIO,
  pollMs: number,
): Promise<number> {
  let live: RawWorkload
  try {
    live = await readWorkload(clients.apps, ref)
  } catch (err) {
    return printError(io, classifyError(err, refString(ref)).message)
  }
  const run: Run = { clients, ref, opts, io, pollMs, live, name: kindName(ref.kind, ref.name) }
  warnBefore(run)
  const recorder = auditRecorder(run)
  const notBefore = Date.now()
  const result = await undoWorkload(clients.apps, ref, {
    toRevision: opts.toRevision,
    dryRun: opts.dryRun,
    record: recorder.annotation,
    resendOnConflict: true,
  })
  return report(run, result, recorder.last(), notBefore)
}

// kubectl's last-applied warning, and rollguard's: a plain undo right after a rollback re-deploys the bad revision.
function warnBefore(run: Run): void {
  const meta = run.live.metadata
  const lastApplied = lastAppliedWarning(run.ref.kind, meta)
  if (lastApplied) run.io.stderr(`Warning: ${lastApplied}\n`)
  const raw = meta?.annotations?.[ROLLBACK_ANNOTATION]
  const record = decodeRollbackRecord(raw)
  if (run.opts.toRevision !== 0 || !record || redeployedSince(factsOf(run), record)) return
  run.io.stderr(
    `Warning: ${run.name} was rolled back at ${new Date(record.at).toISOString()} (revision ${record.fromRevision} → ${record.toRevision}, ${record.alert}) ` +
      `and nothing was deployed since; undoing again re-deploys the template of revision ${record.fromRevision}. Use --to-revision to choose a revision.\n`,
  )
}

function factsOf(run: Run): WorkloadFacts {
  const { metadata: meta, spec, status } = run.live
  return {
    ref: run.ref,
    labels: meta?.labels ?? {},
    annotations: meta?.annotations ?? {},
    paused: spec?.paused === true,
    generation: meta?.generation ?? 0,
    observedGeneration: status?.observedGeneration ?? 0,
    currentRevision: revisionOf(meta) ?? 0,
  }
}

interface Recorder {
  readonly annotation: RecordAnnotation
  readonly last: () => RecordContext | undefined
}

// The policy module's record, written in the rollback patch itself, so the daemon treats the result as a rollguard rollback.
function auditRecorder(run: Run): Recorder {
  const plans: RecordContext[] = []
  const facts = factsOf(run)
  const alert = run.opts.reason === undefined ? 'manual' : `manual: ${run.opts.reason}`
  const annotation: RecordAnnotation = {
    annotationKey: ROLLBACK_ANNOTATION,
    value: ctx => {
      plans.push(ctx)
      const input = { now: Date.now(), policy: KEEP_HISTORY, facts, recentRollbacks: [], isLeader: true }
      const record = nextRollbackRecord(input, { fromRevision: ctx.fromRevision, toRevision: ctx.toRevision }, alert)
      return encodeRollbackRecord({ ...record, generation: ctx.generation })
    },
  }
  return { annotation, last: () => plans[plans.length - 1] }
}

async function report(
  run: Run,
  result: UndoResult,
  plan: RecordContext | undefined,
  notBefore: number,
): Promise<number> {
  const { io, opts, name } = run
  switch (result.kind) {
    case 'error':
      printError(io, result.message)
      await event(run, 'Warning', 'RollbackFailed', `manual rollback of ${name} failed: ${result.message}`)
      return 1
    case 'skipped':
      if (result.reason === 'declined') return printError(io, declinedText(run))
      if (result.reason !== 'already_matches') return printError(io, result.message)
      io.stdout(`${name} skipped rollback (current template already matches revision ${opts.toRevision})\n`)
      return 0
    case 'dry-run':
      io.stdout(`${name} rolled back (server dry run)\n${summary(result, plan)}\n${patchText(run.ref, result)}`)
      return 0
    case 'rolled-back':
      io.stdout(`${name} rolled back\n${summary(result, plan)}\n`)
      return verify(run, result, plan, notBefore)
  }
}

// The only veto the CLI casts: after a 409 the re-read showed a different rollback than the one planned.
function declinedText(run: Run): string {
  const { kind, name, namespace } = run.ref
  return (
    `${refString(run.ref)} changed while rolling back (a concurrent deploy or rollback); nothing was patched. ` +
    `Check 'rollguard history ${kind.toLowerCase()}/${name} -n ${namespace}' and run the command again.`
  )
}

function summary(r: RolledBack | DryRun, plan: RecordContext | undefined): string {
  const images = plan ? ` (${plan.fromImages.join(',') || '<none>'} → ${plan.toImages.join(',') || '<none>'})` : ''
  return `  revision ${r.fromRevision} → ${r.toRevision}${images}; audit record in annotation ${ROLLBACK_ANNOTATION}`
}

// The request exactly as a real run sends it; the dry run added dryRun=All to the query.
function patchText(ref: WorkloadRef, r: DryRun): string {
  const path = `/apis/apps/v1/namespaces/${ref.namespace}/${pluralOf(ref.kind)}/${ref.name}?fieldManager=rollguard`
  return (
    'The API server accepted this patch with dryRun=All; nothing was changed. Without --dry-run rollguard sends:\n' +
    `PATCH ${path}\nContent-Type: ${r.patch.contentType}\n\n${JSON.stringify(r.patch.body, null, 2)}\n`
  )
}

async function verify(run: Run, r: RolledBack, plan: RecordContext | undefined, notBefore: number): Promise<number> {
  const what = describe(run, r, plan)
  if (!run.opts.wait) {
    await event(run, 'Normal', 'RolledBack', `${what}; rollout not followed (--no-wait)`)
    return 0
  }
  const outcome = await followRollout(run.clients.apps, run.ref, {
    generation: r.generation,
    deadlineMs: run.opts.timeoutMs ?? defaultDeadlineMs(run),
    pollMs: run.pollMs,
    notBefore,
    progress: line => run.io.stdout(`${line}\n`),
  })
  if (outcome.outcome === 'complete') {
    run.io.stdout(`${outcome.message}\n`)
    await event(run, 'Normal', 'RolledBack', `${what}; verified: ${outcome.message}`)
    return 0
  }
  printError(run.io, outcome.message)
  await event(run, 'Warning', 'RollbackFailed', `${what}, but the rollout did not complete: ${outcome.message}`)
  return 1
}

function describe(run: Run, r: RolledBack, plan: RecordContext | undefined): string {
  const images = plan ? ` (${plan.fromImages.join(',')} → ${plan.toImages.join(',')})` : ''
  const reason = run.opts.reason === undefined ? '' : `; reason: ${run.opts.reason}`
  return `manual rollback of ${run.name} from revision ${r.fromRevision} to revision ${r.toRevision}${images} with 'rollguard rollback'${reason}`
}

// kubectl waits forever by default; rollguard waits until the controller must have decided, plus a margin.
function defaultDeadlineMs(run: Run): number {
  if (run.ref.kind !== 'Deployment') return DEFAULT_DEADLINE_SECONDS * 1000
  const seconds = run.live.spec?.['progressDeadlineSeconds']
  // MaxInt32 means "no progress deadline" to the controller.
  const usable = typeof seconds === 'number' && seconds > 0 && seconds < 2 ** 31 - 1
  return (usable ? seconds : DEFAULT_DEADLINE_SECONDS) * 1000 + WAIT_MARGIN_MS
}

// Events are an audit trail, not a precondition: a failure to record one is reported and does not change the exit code.
async function event(run: Run, type: EventSpec['type'], reason: string, note: string): Promise<void> {
  const regarding = { ...run.ref, uid: run.live.metadata?.uid }
  const reporter = {
    reportingController: DEFAULT_REPORTER_CONTROLLER,
    reportingInstance: `rollguard-cli@${hostname()}`,
  }
  const r = await recordEvent(
    run.clients.events,
    regarding,
    { type, reason, action: MANUAL_ACTION, note: oneLine(note) },
    reporter,
  )
  if (r.kind === 'error') run.io.stderr(`Warning: event ${reason} not recorded: ${oneLine(r.message)}\n`)
}
