// Items of long sequences composed one at a time while parsing (src/rules/yaml-items.ts) give exactly what composing
// each document whole gives: values, positions, errors and warnings, on hand-picked shapes and on random documents.
import t, { type Test } from 'tap'
import { CST, Lexer, Parser } from 'yaml'
import { ItemComposer, type ComposedItem } from '../../src/rules/yaml-items.js'
import { parseYamlDocuments, type ParseOptions, type YamlStream } from '../../src/rules/yaml-tree.js'

/** composedAlone lists the paths of the items composed alone while parsing text, as parseYamlDocuments drives it. */
function composedAlone(text: string): string[] {
  const parser = new Parser()
  const items: ComposedItem[] = []
  const composer = new ItemComposer(parser, item => items.push(item))
  let documents = 0
  for (const lexeme of new Lexer().lex(text)) {
    const type = CST.tokenType(lexeme)
    composer.sawLexeme(type)
    for (const token of parser.next(lexeme)) if (token.type === 'document') documents++
    if (type === 'seq-item-ind') composer.afterItemIndicator(documents)
  }
  return items.map(i => `${i.documentIndex}:${i.path.join('.')}`)
}

function plain(stream: YamlStream): unknown {
  return {
    errors: stream.errors,
    documents: stream.documents.map(d => ({
      start: d.start,
      value: d.tree.value,
      positions: d.tree.positions,
      errors: [...d.tree.errors].sort((a, b) => a.line - b.line || a.col - b.col),
      warnings: [...d.tree.warnings].sort((a, b) => a.line - b.line || a.col - b.col),
    })),
  }
}

function sameBothWays(t: Test, text: string, opts: ParseOptions = {}, message = 'same as composed whole'): void {
  const whole = plain(parseYamlDocuments(text, { ...opts, itemByItem: false }))
  const byItem = plain(parseYamlDocuments(text, opts))
  t.strictSame(byItem, whole, message)
}

function groups(n: number, between = ''): string {
  const lines = ['groups:']
  for (let i = 0; i < n; i++) {
    lines.push(`  - name: "g${i}"`, '    rules:')
    for (let r = 0; r < 5; r++)
      lines.push(
        `      - alert: A${r}`,
        `        expr: 'up{job="j${i}"} == ${r}'`,
        '        for: 5m',
        '        labels: { severity: "critical" }',
        '        annotations:',
        '          summary: >-',
        `            group ${i} rule ${r}`,
        '            folded',
      )
    if (between !== '') lines.push(between)
  }
  return `${lines.join('\n')}\n`
}

t.test('a rule file: every group but the last few is composed alone, with its rules', async t => {
  const paths = composedAlone(groups(20))
  t.ok(paths.includes('0:groups.0'), 'the first group')
  t.ok(paths.includes('0:groups.16'), 'all but the last three groups')
  t.ok(paths.includes('0:groups.0.rules.0'), "a group's rules before the group is done")
  t.notOk(paths.includes('0:groups.19'), 'the last group waits for the document')
  sameBothWays(t, groups(20))
  sameBothWays(t, groups(20), { scalars: 'value' }, 'with plain values')
})

t.test('comments and blank lines between items, at any indentation', async t => {
  for (const between of ['', '  # a comment', '# at column one', '        # deep', '', '\n\n  # after blanks\n'])
    sameBothWays(t, groups(12, between), {}, JSON.stringify(between))
  t.ok(composedAlone(groups(12, '    # between')).length > 8)
})

t.test('a sequence at the indentation of its key, and a document that is a sequence', async t => {
  const atKey = groups(10).replace(/^ {2}/gm, '')
  t.ok(composedAlone(atKey).includes('0:groups.3'))
  sameBothWays(t, atKey)
  const top = Array.from({ length: 8 }, (_, i) => `- name: n${i}\n  v: ${i}`).join('\n')
  t.ok(composedAlone(top).includes('0:2'))
  sameBothWays(t, top)
})

t.test('PrometheusRule objects: one per document, a List, quoted keys', async t => {
  const object = (i: number) =>
    `apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: o${i}\n  namespace: ns\nspec:\n${groups(
      6,
    )
      .split('\n')
      .map(l => (l === '' ? l : `  ${l}`))
      .join('\n')}`
  const stream = [0, 1, 2].map(object).join('---\n')
  t.ok(composedAlone(stream).includes('1:spec.groups.2'), 'a later document counts its own index')
  sameBothWays(t, stream)
  const list = `apiVersion: v1\nkind: List\nitems:\n${[0, 1, 2, 3, 4]
    .map(i =>
      object(i)
        .split('\n')
        .map((l, n) => (l === '' ? l : n === 0 ? `  - ${l}` : `    ${l}`))
        .join('\n'),
    )
    .join('')}`
  const paths = composedAlone(list)
  t.ok(paths.includes('0:items.0'), 'the objects')
  t.ok(paths.includes('0:items.4.spec.groups.1'), "groups inside an object still being read know the object's index")
  sameBothWays(t, list)
  sameBothWays(t, groups(8).replace('groups:', '"groups":'))
  sameBothWays(t, groups(8).replace('groups:', "'gro''ups':"))
})

t.test('what is never composed alone: anchors, aliases, tags, flow and scalar items, explicit keys', async t => {
  const anchored = groups(10).replace('  - name: "g8"', '  - name: &n "g8"').replace('"g9"', '*n')
  const paths = composedAlone(anchored)
  t.ok(paths.includes('0:groups.3'), 'items before the anchor')
  t.notOk(paths.includes('0:groups.6'), 'nothing once the anchor is read')
  sameBothWays(t, anchored)
  // An alias in a later group to an anchor at the top of the file.
  sameBothWays(
    t,
    `x: &top { severity: page }\n${groups(8).replace('labels: { severity: "critical" }', 'labels: *top')}`,
  )
  // Merge keys inside one group, without anchors.
  sameBothWays(t, groups(8).replace('labels: { severity: "critical" }', 'labels: { <<: { team: a }, severity: x }'))
  const odd = [
    'list:',
    '  - !!map { a: 1 }',
    '  - &a { b: 2 }',
    '  - [1, 2]',
    '  - plain',
    '  -',
    '  - k: v',
    '  - ? complex',
    '    : value',
    '  - k: v',
    '  - k: v',
    '  - k: v',
    '  - k: v',
    '? explicit',
    ': - k: v',
    '  - k: v',
    '  - k: v',
    '  - k: v',
    '  - k: v',
    '',
  ].join('\n')
  sameBothWays(t, odd)
  sameBothWays(t, odd.replace('  - &a { b: 2 }\n', ''), {}, 'without the anchor')
  sameBothWays(t, `%YAML 1.2\n---\n${groups(8)}`, {}, 'a directive')
  sameBothWays(t, `!!map\n${groups(8)}`, {}, 'a tag on the document')
})

t.test('problems inside items are the same problems at the same places', async t => {
  const cases = {
    'duplicate key in a group': groups(10).replace('    rules:\n', '    rules:\n    name: again\n'),
    'duplicate key at the top': `${groups(10)}groups: []\n`,
    'bad indentation in a group': groups(10).replace('        for: 5m', '         for: 5m'),
    'unterminated quote': groups(10).replace(`'up{job="j4"} == 1'`, `'up{job="j4"} == 1`),
    'tab indentation': groups(10).replace('        for: 5m', '\tfor: 5m'),
    'item without a dash': groups(10).replace('  - name: "g6"', '    name: "g6"'),
    'unknown alias': groups(10).replace('for: 5m', 'for: *nope'),
    'windows line ends': groups(10).replace(/\n/g, '\r\n'),
    'a second document after': `${groups(10)}---\nother: 1\n`,
  }
  for (const [name, text] of Object.entries(cases)) sameBothWays(t, text, {}, name)
})

t.test('random documents compose the same item by item as whole', async t => {
  // A seeded generator of block and flow collections, scalars of every style, comments and blank lines.
  let seed = 20261205
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  const scalar = (): string =>
    [
      () => `w${random(50)}`,
      () => String(random(1000)),
      () => `"q ${random(9)}\\n"`,
      () => `'s ${random(9)}'`,
      () => 'true',
      () => '~',
      () => `${random(9)}.5`,
    ][random(7)]!()
  const node = (indent: number, depth: number): string[] => {
    const pad = ' '.repeat(indent)
    const kind = depth > 3 ? 9 : random(10)
    if (kind < 4) {
      const n = 1 + random(6)
      return Array.from({ length: n }, (_, i) => {
        const inner = node(indent + 2, depth + 1)
        const comment = random(6) === 0 ? [`${' '.repeat(random(indent + 3))}# c${i}`] : []
        const blank = random(8) === 0 ? [''] : []
        return inner[0]!.startsWith(' ')
          ? [...comment, `${pad}- ${inner[0]!.trimStart()}`, ...inner.slice(1), ...blank]
          : [...comment, `${pad}- ${inner[0]}`, ...blank]
      }).flat()
    }
    if (kind < 8) {
      const n = 1 + random(5)
      return Array.from({ length: n }, (_, i) => {
        const inner = node(indent + 2, depth + 1)
        return inner[0]!.startsWith(' ') ? [`${pad}k${i}:`, ...inner] : [`${pad}k${i}: ${inner[0]}`]
      }).flat()
    }
    if (kind === 8) return [`{ a: ${scalar()}, b: [${scalar()}, ${scalar()}] }`]
    return [scalar()]
  }
  for (let i = 0; i < 300; i++) {
    const lines = node(0, 0)
    const text = `${lines[0]!.startsWith(' ') || lines.length > 1 ? lines.join('\n') : `top: ${lines[0]}`}\n`
    const whole = plain(parseYamlDocuments(text, { itemByItem: false }))
    const byItem = plain(parseYamlDocuments(text))
    if (!t.strictSame(byItem, whole, `random document ${i}`)) {
      t.comment(text)
      break
    }
  }
})
