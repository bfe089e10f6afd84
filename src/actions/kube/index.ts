// The Kubernetes side of rollguard: kubectl-exact rollbacks, rollout status, history, events and leader election.
export { contextNamespace, DEFAULT_REQUEST_TIMEOUT_MS, loadKubeConfig, makeClients, refString } from './client.js'
export type { KubeClients, KubeConfigSource, LoadKubeConfigOptions, WorkloadKind, WorkloadRef } from './client.js'
export { fetchDeploymentState, planDeploymentUndo, undoDeployment } from './deployment-undo.js'
export type { FailureReason, KubeFailure } from './errors.js'
export { buildEvent, DEFAULT_REPORTER_CONTROLLER, recordEvent } from './events.js'
export type { EventResult, EventSpec, RegardingRef, Reporter } from './events.js'
export { formatHistory, rolloutHistory } from './history.js'
export type { History, HistoryEntry } from './history.js'
export { LeaseElector } from './lease.js'
export type { LeaseElectorOptions } from './lease.js'
export { fetchRevisionState, planRevisionUndo, undoRevisionWorkload } from './revision-undo.js'
export { readWorkload, rolloutStatus, waitForRollout } from './rollout-status.js'
export type { RolloutVerdict, StatusOptions, WaitOptions, WaitOutcome } from './rollout-status.js'
export { undoWorkload } from './undo.js'
export { DEFAULT_FIELD_MANAGER } from './undo-result.js'
export type {
  DryRun,
  RecordAnnotation,
  RecordContext,
  RolledBack,
  Skipped,
  SkipReason,
  UndoOptions,
  UndoPatch,
  UndoPlan,
  UndoResult,
} from './undo-result.js'
