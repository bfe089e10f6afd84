// `rollguard gitops resume`: restores the reconciliation rollguard suspended for a rollback (actions.gitops.mode
// suspend), exactly as it was, from the owner's rollguard.io/suspended annotation.
import { describeOwner, OWNER_KINDS, resumePatch, SUSPENDED_ANNOTATION, type OwnerKind } from '../actions/gitops.js'
import { patchOwner, readOwner } from '../actions/kube/gitops-owner.js'
import { errorText } from '../errors.js'
import { parseFlags, UsageError } from './args.js'
import type { CliIO } from './run.js'
import { didYouMean } from './suggest.js'
import {
  connect,
  KUBE_FLAGS_HELP,
  KUBE_OPTIONS,
  printError,
  usageError,
  wantsHelp,
  type Env,
  type KubeFlags,
} from './workload-args.js'

/** GITOPS_USAGE is the help text of `rollguard gitops`. */
export const GITOPS_USAGE = `Usage: rollguard gitops resume KIND/NAME [-n NAMESPACE] [--dry-run] [--kubeconfig FILE] [--context NAME]

Resumes the GitOps reconciliation that rollguard suspended before a rollback (actions.gitops.mode: suspend):
restores exactly the previous setting kept in the owner's ${SUSPENDED_ANNOTATION} annotation (Argo CD:
spec.syncPolicy.automated; Flux: spec.suspend) and removes the annotation. Run it once the fix is in Git: the
controller then applies the Git state again.

KIND is application (app), kustomization (ks) or helmrelease (hr), case-insensitive.

Flags:
  --dry-run                  validate the patch with the API server (dryRun=All) without storing it
${KUBE_FLAGS_HELP}

Exit status: 0 resumed, 1 error (not suspended by rollguard, not found, forbidden, API unreachable), 2 usage error.

Examples:
  rollguard gitops resume application/shop -n argocd
  rollguard gitops resume ks/apps -n flux-system
`

const KINDS: ReadonlyMap<string, OwnerKind> = new Map([
  ['application', 'Application'],
  ['applications', 'Application'],
  ['app', 'Application'],
  ['apps', 'Application'],
  ['kustomization', 'Kustomization'],
  ['kustomizations', 'Kustomization'],
  ['ks', 'Kustomization'],
  ['helmrelease', 'HelmRelease'],
  ['helmreleases', 'HelmRelease'],
  ['hr', 'HelmRelease'],
])

interface ResumeOptions {
  readonly kind: OwnerKind
  readonly name: string
  readonly dryRun: boolean
  readonly flags: KubeFlags
}

/** parseGitOpsArgs parses `resume KIND/NAME …`; throws UsageError. */
export function parseGitOpsArgs(argv: readonly string[]): ResumeOptions {
  const { values, positionals } = parseFlags(argv, { ...KUBE_OPTIONS, 'dry-run': { type: 'boolean' } })
  const [sub, target, extra] = positionals
  if (sub !== 'resume')
    throw new UsageError(
      sub === undefined
        ? 'a subcommand is required: resume'
        : `unknown subcommand ${JSON.stringify(sub)}${didYouMean(sub, ['resume']) || ': the subcommand is resume'}`,
    )
  if (target === undefined) throw new UsageError('an owner is required: KIND/NAME, e.g. application/shop')
  if (extra !== undefined) throw new UsageError(`unexpected argument: ${extra}`)
  const [kindText = '', name = ''] = target.split('/', 2)
  const kind = KINDS.get(
    kindText.toLowerCase().replace(/\.(argoproj\.io|kustomize\.toolkit\.fluxcd\.io|helm\.toolkit\.fluxcd\.io)$/, ''),
  )
  if (kind === undefined)
    throw new UsageError(
      `unsupported kind ${JSON.stringify(kindText)}: use application (app), kustomization (ks) or helmrelease (hr)`,
    )
  if (name === '') throw new UsageError(`${kindText}: a name is required, e.g. ${kindText}/shop`)
  return {
    kind,
    name,
    dryRun: values['dry-run'] === true,
    flags: { namespace: values.namespace, kubeconfig: values.kubeconfig, context: values.context },
  }
}

/** runGitOps implements `rollguard gitops` and returns the exit code. */
export async function runGitOps(
  argv: readonly string[],
  io: CliIO,
  hooks: { env?: Env; requestTimeoutMs?: number } = {},
): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout(GITOPS_USAGE)
    return 0
  }
  let opts: ResumeOptions
  try {
    opts = parseGitOpsArgs(argv)
  } catch (err) {
    return usageError(io, 'gitops', err)
  }
  let conn
  try {
    conn = connect(opts.flags, hooks.env ?? process.env, hooks.requestTimeoutMs)
  } catch (err) {
    return printError(io, errorText(err))
  }
  const owner = { kind: opts.kind, namespace: conn.namespace, name: opts.name }
  const read = await readOwner(conn.clients.custom, owner)
  if (read.kind === 'error') return printError(io, read.message)
  const resume = resumePatch(owner, read.obj)
  if ('error' in resume) return printError(io, resume.error)
  const r = await patchOwner(conn.clients.custom, owner, resume.patch, {
    dryRun: opts.dryRun,
    step: 'resuming its reconciliation',
  })
  if (r !== true) return printError(io, r.message)
  const { group } = OWNER_KINDS[opts.kind]
  io.stdout(
    `${opts.kind.toLowerCase()}.${group}/${opts.name} resumed${opts.dryRun ? ' (dry run)' : ''}: ${resume.restored} (${describeOwner(owner)})\n`,
  )
  return 0
}
