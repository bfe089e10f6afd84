import { pino, type Logger, type DestinationStream } from 'pino'

/** REDACT_PATHS keeps credentials out of every log line, wherever a caller puts them. */
export const REDACT_PATHS = [
  'password',
  'token',
  'authorization',
  'credentials',
  '*.password',
  '*.token',
  '*.authorization',
  '*.Authorization',
  '*.credentials',
  '*.clientSecret',
  '*.client_secret',
  '*.bearer_token',
  'headers.authorization',
  'headers.Authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'auth.token',
  'auth.password',
  '*.auth.token',
  '*.auth.password',
  'auth.credentials',
  '*.auth.credentials',
]

/** createLogger builds the process logger: JSON lines to stdout (or the given stream), secrets redacted. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'rollguard' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: label => ({ level: label }) },
    },
    destination,
  )
}
