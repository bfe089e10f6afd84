// One way to turn anything thrown, and an abort signal's reason, into the text shown to people and in logs.

/** errorText is the message of anything thrown: an Error's (or error-like object's) message, else the value as text. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined
  return typeof message === 'string' ? message : String(err)
}

/** abortText says why a signal was aborted: its reason's message, or "aborted" when it has none. */
export function abortText(signal: AbortSignal): string {
  const reason: unknown = signal.reason
  return reason === undefined || reason === null ? 'aborted' : errorText(reason)
}
