import { readdir, stat } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'

// Node 20 has no fs.glob, so this is a small matcher: "*", "?" and "[...]" within one path
// segment, and "**" as a whole segment for any number of directories. As in a shell, wildcards
// do not match a leading "." and "**" does not descend into hidden or symlinked directories.

const MAGIC = /[*?[]/

/** hasMagic reports whether a pattern contains glob wildcards. */
export function hasMagic(pattern: string): boolean {
  return MAGIC.test(pattern)
}

/** expandGlob returns the files matching pattern (relative patterns resolve against cwd but are returned relative), sorted. */
export async function expandGlob(pattern: string, cwd: string): Promise<string[]> {
  const segments = pattern.split('/')
  const firstMagic = segments.findIndex(s => hasMagic(s))
  // A path named as such need not be a regular file: /dev/null and <(…) (a pipe) are read as promtool reads them.
  if (firstMagic < 0) return (await isNotDirectory(resolve(cwd, pattern))) ? [pattern] : []
  const base = segments.slice(0, firstMagic).join('/') || (isAbsolute(pattern) ? '/' : '')
  const found = new Set<string>()
  await walk(cwd, base, segments.slice(firstMagic), found)
  return [...found].sort()
}

async function walk(cwd: string, dir: string, rest: readonly string[], found: Set<string>): Promise<void> {
  const [segment, ...tail] = rest
  if (segment === undefined) {
    if (await isFile(resolve(cwd, dir))) found.add(dir)
    return
  }
  if (segment === '**' && tail.length === 0) {
    await walk(cwd, dir, ['**', '*'], found)
    return
  }
  if (segment === '**') {
    await walk(cwd, dir, tail, found)
    for (const sub of await listDirs(resolve(cwd, dir))) await walk(cwd, join(dir, sub), rest, found)
    return
  }
  if (!hasMagic(segment)) {
    await walk(cwd, join(dir, segment), tail, found)
    return
  }
  const re = segmentRegExp(segment)
  for (const entry of await list(resolve(cwd, dir))) {
    if (re.test(entry) && (segment.startsWith('.') || !entry.startsWith('.')))
      await walk(cwd, join(dir, entry), tail, found)
  }
}

/** segmentRegExp translates one glob path segment into an anchored regular expression. */
export function segmentRegExp(segment: string): RegExp {
  let re = ''
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2)
      if (close < 0) {
        re += '\\['
        continue
      }
      const body = segment
        .slice(i + 1, close)
        .replace(/^[!^]/, '^')
        .replace(/\\/g, '\\\\')
      re += `[${body}]`
      i = close
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

function resolve(cwd: string, p: string): string {
  if (p === '') return cwd
  return isAbsolute(p) ? p : join(cwd, p)
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch {
    return []
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true })
    return entries.filter(e => e.isDirectory() && !e.name.startsWith('.')).map(e => e.name)
  } catch {
    return []
  }
}

async function isNotDirectory(p: string): Promise<boolean> {
  try {
    return !(await stat(p)).isDirectory()
  } catch {
    return false
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile()
  } catch {
    return false
  }
}
