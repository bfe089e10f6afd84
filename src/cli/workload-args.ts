// Shared by `rollguard rollback` and `rollguard history`: kubectl's KIND/NAME argument, kubeconfig lookup and
// namespace defaulting, and one-line error texts.
import { existsSync } from 'node:fs'
import { delimiter } from 'node:path'
import {
  loadKubeConfig,
  makeClients,
  type KubeClients,
  type KubeConfigSource,
  type WorkloadKind,
} from '../actions/kube/index.js'
import { homeKubeconfig, NO_CLUSTER_CONFIGURATION } from '../config/kubeconfig-lookup.js'
import { errorText } from '../errors.js'
import { UsageError } from './args.js'
import { didYouMean } from './suggest.js'
import type { CliIO } from './run.js'

/** Env is the environment the kubeconfig lookup reads (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST). */
export type Env = Readonly<Record<string, string | undefined>>

/** KubeFlags are the connection flags every cluster command takes. */
export interface KubeFlags {
  readonly kubeconfig?: string | undefined
  readonly context?: string | undefined
  readonly namespace?: string | undefined
}

/** Target is the workload named on the command line (the namespace comes from -n or the context). */
export interface Target {
  readonly kind: WorkloadKind
  readonly name: string
}

/** Connection is a set of clients plus the namespace to act in (-n, else the context's, else "default"). */
export interface Connection {
  readonly clients: KubeClients
  readonly namespace: string
}

// kubectl's resource names, plural names and short names for the three kinds `rollout undo` supports.
const KIND_NAMES: ReadonlyMap<string, WorkloadKind> = new Map([
  ['deployment', 'Deployment'],
  ['deployments', 'Deployment'],
  ['deploy', 'Deployment'],
  ['statefulset', 'StatefulSet'],
  ['statefulsets', 'StatefulSet'],
  ['sts', 'StatefulSet'],
  ['daemonset', 'DaemonSet'],
  ['daemonsets', 'DaemonSet'],
  ['ds', 'DaemonSet'],
])

const SUPPORTED = 'deployment (deploy), statefulset (sts) and daemonset (ds)'

/** parseKind maps kubectl's names for a kind (case-insensitive, optionally qualified as KIND.apps or KIND.v1.apps) to the kind. */
export function parseKind(text: string): WorkloadKind | undefined {
  return KIND_NAMES.get(text.toLowerCase().replace(/\.(v1\.)?apps$/, ''))
}

/** parseTarget reads `KIND/NAME` (or kubectl's `KIND NAME`) from the positionals; throws UsageError. */
export function parseTarget(positionals: readonly string[]): Target {
  const [first, second, extra] = positionals
  if (first === undefined) throw new UsageError('a workload is required: KIND/NAME, e.g. deployment/web')
  const slash = first.indexOf('/')
  const [kindText, name, rest] =
    slash >= 0 ? [first.slice(0, slash), first.slice(slash + 1), second] : [first, second, extra]
  if (rest !== undefined) throw new UsageError(`unexpected argument: ${rest}`)
  const kind = parseKind(kindText)
  if (kind === undefined)
    throw new UsageError(
      `unsupported kind ${JSON.stringify(kindText)}${didYouMean(kindText.toLowerCase(), [...KIND_NAMES.keys()])}: rollguard works on ${SUPPORTED}`,
    )
  if (name === undefined || name === '') throw new UsageError(`${kindText}: a name is required, e.g. ${kindText}/web`)
  if (name.includes('/')) throw new UsageError(`invalid name ${JSON.stringify(name)}: use KIND/NAME`)
  return { kind, name }
}

/** KUBE_OPTIONS are the node:util parseArgs options for KubeFlags. */
export const KUBE_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** KUBE_FLAGS_HELP documents KUBE_OPTIONS in usage texts. */
export const KUBE_FLAGS_HELP = `  -n, --namespace NAMESPACE  namespace of the workload (default: the context's namespace, else "default")
  --kubeconfig FILE          kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the pod's service account)
  --context NAME             kubeconfig context to use (default: the current context)
  -h, --help                 show this help`

/** kubeConfigSource is kubectl's lookup order: --kubeconfig, $KUBECONFIG, ~/.kube/config, in-cluster; throws when none applies. */
export function kubeConfigSource(flag: string | undefined, env: Env): KubeConfigSource {
  if (flag !== undefined) return { mode: 'file', path: flag }
  const paths = (env['KUBECONFIG'] ?? '').split(delimiter).filter(p => p !== '')
  // Several files are merged by client-node from process.env, the way kubectl merges them.
  if (paths.length > 1) return { mode: 'default' }
  if (paths[0] !== undefined) return { mode: 'file', path: paths[0] }
  const home = homeKubeconfig(env)
  if (existsSync(home)) return { mode: 'file', path: home }
  if (env['KUBERNETES_SERVICE_HOST']) return { mode: 'in-cluster' }
  throw new Error(NO_CLUSTER_CONFIGURATION)
}

/** connect loads the kubeconfig and builds clients; throws an Error whose message is fit for one line. */
export function connect(flags: KubeFlags, env: Env, requestTimeoutMs?: number): Connection {
  const kc = loadKubeConfig({ source: kubeConfigSource(flags.kubeconfig, env), context: flags.context })
  const clients = makeClients(kc, requestTimeoutMs === undefined ? {} : { requestTimeoutMs })
  return { clients, namespace: flags.namespace ?? clients.namespace }
}

/** wantsHelp reports whether -h/--help appears before a "--". */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end < 0 ? argv : argv.slice(0, end)).some(a => a === '-h' || a === '--help')
}

/** usageError prints a usage error the project's way and returns exit code 2. */
export function usageError(io: CliIO, command: string, err: unknown): number {
  if (!(err instanceof UsageError)) throw err
  io.stderr(`rollguard ${command}: ${err.message}\nTry 'rollguard ${command} --help'.\n`)
  return 2
}

/** oneLine collapses a message to one line (API messages may carry newlines). */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}

/** printError writes kubectl's `error: <message>` line and returns exit code 1. */
export function printError(io: CliIO, message: string): number {
  io.stderr(`error: ${oneLine(message)}\n`)
  return 1
}

/** kindName is how kubectl names an object in its output, e.g. `deployment.apps/web`. */
export function kindName(kind: WorkloadKind, name: string): string {
  return `${kind.toLowerCase()}.apps/${name}`
}

/** pluralOf is the resource name of a kind, e.g. deployments. */
export function pluralOf(kind: WorkloadKind): string {
  return `${kind.toLowerCase()}s`
}

/** WorkloadCommand is what a KIND/NAME command needs once its arguments are parsed and a client is built. */
export interface WorkloadCommand<O> {
  readonly opts: O
  readonly conn: Connection
  readonly ref: { kind: WorkloadKind; namespace: string; name: string }
}

/**
 * prepareWorkloadCommand does the shared start of `rollback` and `history`: --help, argument parsing and
 * the Kubernetes connection. It returns the exit code when the command ends there.
 */
export function prepareWorkloadCommand<O extends { target: Target; flags: KubeFlags }>(
  argv: readonly string[],
  io: CliIO,
  spec: { command: string; usage: string; parse: (argv: readonly string[]) => O; env?: Env; requestTimeoutMs?: number },
): WorkloadCommand<O> | number {
  if (wantsHelp(argv)) {
    io.stdout(spec.usage)
    return 0
  }
  let opts: O
  try {
    opts = spec.parse(argv)
  } catch (err) {
    return usageError(io, spec.command, err)
  }
  let conn: Connection
  try {
    conn = connect(opts.flags, spec.env ?? process.env, spec.requestTimeoutMs)
  } catch (err) {
    return printError(io, errorText(err))
  }
  return { opts, conn, ref: { kind: opts.target.kind, namespace: conn.namespace, name: opts.target.name } }
}
