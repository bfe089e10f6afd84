/**
 * The documentation's relative links point somewhere: every relative Markdown link in the README,
 * ARCHITECTURE.md, docs/*.md and the READMEs of deploy/, dashboards/ and bench/ resolves to an existing file or
 * directory, and a `#anchor` into a Markdown file names one of its headings, slugged as GitHub does. Also keeps
 * the README to one screen's worth: at most 12 KB.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const README_MAX_BYTES = 12 * 1024

const DOCS = [
  'README.md',
  'ARCHITECTURE.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter(f => f.endsWith('.md'))
    .sort()
    .map(f => `docs/${f}`),
  'deploy/README.md',
  'dashboards/README.md',
  'bench/README.md',
]

/** Link is one link of a document: its target as written and the line it is on. */
interface Link {
  readonly target: string
  readonly line: number
}

/** FENCE opens or closes a fenced code block (``` or ~~~, up to three spaces of indentation). */
const FENCE = /^ {0,3}(`{3,}|~{3,})/

/** proseLines yields the lines outside fenced code blocks: with inline code spans blanked out, the line number, as written. */
function* proseLines(text: string): Generator<readonly [string, number, string]> {
  let fence: string | undefined
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    const m = FENCE.exec(line)
    if (m !== null) {
      const marker = m[1] as string
      if (fence === undefined) fence = marker
      else if (marker[0] === fence[0] && marker.length >= fence.length) fence = undefined
      continue
    }
    if (fence !== undefined) continue
    yield [line.replace(/(`+)(?:(?!\1).)+?\1/g, span => ' '.repeat(span.length)), i + 1, line]
  }
}

/** links finds inline links and images `[text](target "title")` and reference definitions `[label]: target`. */
export function links(text: string): Link[] {
  const out: Link[] = []
  for (const [line, n] of proseLines(text)) {
    for (const m of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      out.push({ target: (m[1] as string).replace(/^<|>$/g, ''), line: n })
    }
    const def = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(line)
    if (def !== null) out.push({ target: (def[1] as string).replace(/^<|>$/g, ''), line: n })
  }
  return out
}

/**
 * slug is GitHub's heading anchor: the heading's text as rendered (inline markup removed, code kept), lower-cased,
 * every character that is not a letter, a digit, a space, "-" or "_" removed, spaces turned into "-".
 */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/(\*\*|__|\*|_|~~)(?=\S)([^]*?\S)\1/g, '$2') // emphasis
    .replace(/`/g, '')
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** anchors lists a Markdown document's anchors: heading slugs (duplicates numbered -1, -2, …) and HTML ids. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const [line, , original] of proseLines(text)) {
    // The heading as written: a slug keeps the text of code spans.
    const h = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(original)
    if (h !== null) {
      const base = slug(h[1] as string)
      const count = seen.get(base) ?? 0
      seen.set(base, count + 1)
      out.add(count === 0 ? base : `${base}-${count}`)
    }
    for (const m of line.matchAll(/<a\s[^>]*(?:name|id)="([^"]+)"/g)) out.add(m[1] as string)
  }
  return out
}

/** isExternal: a URL with a scheme (https:, mailto:, …) or protocol-relative; not checked here. */
const isExternal = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')

/** problems checks one document's links and returns one message per broken link. */
function problems(doc: string): string[] {
  const text = readFileSync(join(ROOT, doc), 'utf8')
  const out: string[] = []
  for (const { target, line } of links(text)) {
    if (isExternal(target)) continue
    const [rawPath = '', ...rest] = target.split('#')
    const fragment = rest.join('#')
    const path = decodeURIComponent(rawPath.split('?')[0] as string)
    const file = path === '' ? join(ROOT, doc) : join(ROOT, dirname(doc), path)
    const where = `${doc}:${line}: ${target}`
    if (!file.startsWith(ROOT)) {
      out.push(`${where}: points outside the repository`)
      continue
    }
    if (!existsSync(file)) {
      out.push(`${where}: ${relative(ROOT, file)} does not exist`)
      continue
    }
    if (fragment === '' || !file.endsWith('.md') || statSync(file).isDirectory()) continue
    const known = anchors(readFileSync(file, 'utf8'))
    if (!known.has(decodeURIComponent(fragment)))
      out.push(`${where}: ${relative(ROOT, file)} has no heading #${fragment}`)
  }
  return out
}

t.test('slugs follow GitHub', async t => {
  t.equal(slug('Alertmanager → rollguard'), 'alertmanager--rollguard')
  t.equal(
    slug('Reloading: SIGHUP, or POST /-/reload with --web.enable-lifecycle'),
    'reloading-sighup-or-post--reload-with---webenable-lifecycle',
  )
  t.equal(slug('The default rules: rules/rollback-triggers.yml'), 'the-default-rules-rulesrollback-triggersyml')
  t.equal(slug('**Bold** and [a link](x.md)'), 'bold-and-a-link')
  t.equal(slug('snake_case stays'), 'snake_case-stays')
  t.same(
    [...anchors('# A\n## A\n## `rollguard gitops resume`\n```\n# not a heading\n```\n')],
    ['a', 'a-1', 'rollguard-gitops-resume'],
  )
})

t.test('links are found outside code only', async t => {
  const found = links('see [a](a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n[d]: <d.md>\n![img](i.png "title")\n')
  t.same(
    found.map(l => l.target),
    ['a.md', 'd.md', 'i.png'],
  )
})

t.test('every relative link resolves', async t => {
  for (const doc of DOCS) {
    t.ok(existsSync(join(ROOT, doc)), `${doc} exists`)
    if (!existsSync(join(ROOT, doc))) continue
    t.same(problems(doc), [], `${doc}: every relative link points to an existing file and heading`)
  }
})

t.test('the README stays at most 12 KB', async t => {
  const bytes = statSync(join(ROOT, 'README.md')).size
  t.ok(
    bytes <= README_MAX_BYTES,
    `README.md is ${bytes} bytes; at most ${README_MAX_BYTES} (move reference material into docs/)`,
  )
})

t.test('CI runs the README test command', async t => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  t.match(readme, /^npm ci && npm test\b/m, 'the README shows `npm ci && npm test`')
  t.match(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'), /^npm ci && npm test$/m, '.ci/run runs it')
})
