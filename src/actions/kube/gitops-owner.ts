import { PatchStrategy, type CustomObjectsApi } from '@kubernetes/client-node'
import {
  describeOwner,
  detectOwner,
  ownerFacts,
  OWNER_KINDS,
  type GitOpsFacts,
  type GitOpsOwner,
  type GitOpsSettings,
  type RawOwner,
} from '../gitops.js'
import type { WorkloadFacts } from '../policy.js'
import { classifyError, type KubeFailure } from './errors.js'
import { DEFAULT_FIELD_MANAGER } from './undo-result.js'
import { withRaw } from './raw.js'

type OwnerRef = Pick<GitOpsOwner, 'kind' | 'namespace' | 'name'>

/** OwnerRead is an owner object as read (tagged like WorkloadRead, so it cannot be mistaken for a failure). */
export interface OwnerRead {
  readonly kind: 'read'
  readonly obj: RawOwner
}

function coordinates(owner: OwnerRef) {
  const { group, version, plural } = OWNER_KINDS[owner.kind]
  return { group, version, plural, namespace: owner.namespace, name: owner.name }
}

/** readOwner GETs a GitOps owner object (Application, Kustomization, HelmRelease); never throws. */
export async function readOwner(
  custom: CustomObjectsApi,
  owner: OwnerRef,
  signal?: AbortSignal,
): Promise<OwnerRead | KubeFailure> {
  try {
    return {
      kind: 'read',
      obj: await withRaw<RawOwner>(o => custom.getNamespacedCustomObject(coordinates(owner), o), { signal }),
    }
  } catch (err) {
    return classifyError(err, `${describeOwner(owner)}: reading it`)
  }
}

/** patchOwner sends a JSON merge patch to a GitOps owner (dryRun=All when asked); never throws. */
export async function patchOwner(
  custom: CustomObjectsApi,
  owner: OwnerRef,
  body: Record<string, unknown>,
  opts: { readonly dryRun: boolean; readonly signal?: AbortSignal | undefined; readonly step: string },
): Promise<true | KubeFailure> {
  const params = {
    ...coordinates(owner),
    body,
    fieldManager: DEFAULT_FIELD_MANAGER,
    ...(opts.dryRun ? { dryRun: 'All' } : {}),
  }
  try {
    await withRaw<RawOwner>(o => custom.patchNamespacedCustomObject(params, o), {
      contentType: PatchStrategy.MergePatch,
      signal: opts.signal,
    })
    return true
  } catch (err) {
    return classifyError(err, `${describeOwner(owner)}: ${opts.step}`)
  }
}

/**
 * readGitOpsFacts finds a workload's GitOps owner and reads it. An instance label naming no Application is no
 * owner (Helm charts set that label too); an owner that cannot be read is `unreadable`, which the policy treats
 * as reverting unless actions.gitops.mode is ignore.
 */
export async function readGitOpsFacts(
  custom: CustomObjectsApi,
  facts: Pick<WorkloadFacts, 'ref' | 'labels' | 'annotations'>,
  settings: GitOpsSettings,
  signal?: AbortSignal,
): Promise<{ readonly facts: GitOpsFacts; readonly raw?: RawOwner | undefined }> {
  const found = detectOwner(facts.ref, facts.labels, facts.annotations, settings)
  if ('state' in found) return { facts: found }
  const { owner, candidate } = found
  const read = await readOwner(custom, owner, signal)
  if (read.kind === 'error') {
    if (read.reason === 'not_found')
      return {
        facts: {
          state: 'unmanaged',
          note: `${owner.via}, but there is no ${describeOwner(owner)}${candidate ? '' : ': nothing re-applies it'}`,
        },
      }
    return { facts: { state: 'unreadable', owner, error: read.message } }
  }
  return { facts: ownerFacts(owner, read.obj, facts.labels, facts.annotations), raw: read.obj }
}
