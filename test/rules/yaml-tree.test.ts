// parseYamlDocuments: every document of a stream with positions into the whole text, one node budget and one
// alias budget for the whole stream.
import t from 'tap'
import { ALIAS_NODES_FLOOR, locate, parseYaml, parseYamlDocuments } from '../../src/rules/yaml-tree.js'

t.test('every document, each with positions in the whole text', async t => {
  // A document starts at its --- or at its first node.
  const text = '# first\na: 1\n---\nb:\n  c: [x, y]\n---\n---\n  d: e\n'
  const { documents, errors } = parseYamlDocuments(text, { scalars: 'value' })
  t.same(errors, [])
  t.same(
    documents.map(d => d.tree.value),
    [{ a: 1 }, { b: { c: ['x', 'y'] } }, null, { d: 'e' }],
  )
  const [first, second, , fourth] = documents
  t.same(first && locate(first.tree, ['a'], { at: 'key' }), { line: 2, col: 1 })
  t.same(second && locate(second.tree, ['b', 'c', 1]), { line: 5, col: 10 })
  t.same(fourth && locate(fourth.tree, ['d']), { line: 8, col: 6 })
  t.same(
    documents.map(d => d.start.line),
    [2, 3, 6, 7],
  )
  t.same(parseYaml(text, { scalars: 'value' }).value, { a: 1 }, 'parseYaml reads the first one only')
})

t.test('a broken document keeps its own errors; the others are walked', async t => {
  const { documents } = parseYamlDocuments('a: 1\n---\nb: [\n---\nc: 2\nc: 3\n', { scalars: 'value' })
  t.same(documents[0]?.tree.errors, [])
  t.same(documents[0]?.tree.value, { a: 1 })
  t.ok((documents[1]?.tree.errors.length ?? 0) > 0)
  t.equal(documents[1]?.tree.value, null)
  t.match(documents[2]?.tree.errors, [{ line: 6, col: 1, message: 'mapping key "c" already defined' }])
})

t.test('the node budget covers the whole stream', async t => {
  const text = 'a: [1, 2, 3]\n---\nb: [4, 5, 6]\n'
  t.same(parseYamlDocuments(text, { maxNodes: 20 }).errors, [])
  const over = parseYamlDocuments(text, { maxNodes: 8 })
  t.same(over.documents, [])
  t.match(over.errors, [{ line: 3, message: 'too many YAML nodes: more than 8 (see the file size limits)' }])
})

t.test('the alias budget is shared: documents cannot each expand up to the floor', async t => {
  // One document expands to about 60 % of the floor: alone it is fine, twice in one stream it is not.
  const items = 1000
  const refs = Math.ceil((0.6 * ALIAS_NODES_FLOOR) / (items + 1))
  const doc = `a: &a [${Array(items).fill('x').join(', ')}]\nb: [${Array(refs).fill('*a').join(', ')}]\n`
  const one = parseYamlDocuments(doc)
  t.same(one.documents[0]?.tree.errors, [])
  const two = parseYamlDocuments(`${doc}---\n${doc}`)
  t.same(two.documents[0]?.tree.errors, [])
  t.match(two.documents[1]?.tree.errors, [{ line: 5, message: /^too many alias references/ }])
})
