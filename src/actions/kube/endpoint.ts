import type http from 'node:http'

/**
 * ApiEndpoint is where rollguard's own requests go and as whom: the API server of the selected context and the
 * credentials of its user. Made from a kubeconfig without client-node when its credentials are static
 * (static-credentials.ts), or from client-node's KubeConfig for exec plugins and auth providers (client.ts).
 */
export interface ApiEndpoint {
  /** The API server's base URL, without a trailing slash (it may carry a path, as behind Rancher). */
  readonly server: string
  /** The namespace of the selected context ('default' when it names none; the pod's in-cluster). */
  readonly namespace: string
  /** authorize gives one request's agent (TLS, proxy) and headers (Authorization, Impersonate-User). */
  authorize(): Promise<RequestAuth>
}

/** RequestAuth is what authorize gives: the agent to send with, the headers to add. */
export interface RequestAuth {
  readonly agent?: http.Agent | undefined
  readonly headers: Readonly<Record<string, string>>
}
