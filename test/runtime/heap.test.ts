import { execFileSync } from 'node:child_process'
import t from 'tap'
import {
  applyYoungGeneration,
  heapGrowthFlag,
  nodeFlags,
  SMALL_YOUNG_GENERATION_FLAG,
  splitNodeOptions,
  youngGenerationFlag,
} from '../../src/runtime/heap.js'

t.test('node flags are the command line and NODE_OPTIONS, split as node splits it', async t => {
  t.same(nodeFlags(['--inspect'], '  --max-semi-space-size=16   --enable-source-maps '), [
    '--inspect',
    '--max-semi-space-size=16',
    '--enable-source-maps',
  ])
  t.same(nodeFlags([], undefined), [])
  t.same(splitNodeOptions('"--max-semi-space-size=16" "--import=file:///a b/c.mjs"'), [
    '--max-semi-space-size=16',
    '--import=file:///a b/c.mjs',
  ])
  t.same(splitNodeOptions('--title="a \\"quoted\\" b" x'), ['--title=a "quoted" b', 'x'])
  t.same(splitNodeOptions('""'), [''])
  t.equal(youngGenerationFlag(nodeFlags([], '"--max-semi-space-size=16"')), undefined, 'quoted, as tools write it')
})

t.test('the young generation stays small unless node was given a semi-space size', async t => {
  t.equal(youngGenerationFlag([]), SMALL_YOUNG_GENERATION_FLAG)
  t.equal(youngGenerationFlag(['--enable-source-maps', '--max-old-space-size=200']), SMALL_YOUNG_GENERATION_FLAG)
  for (const own of ['--max-semi-space-size=16', '--max_semi_space_size=8', '--min-semi-space-size=4'])
    t.equal(youngGenerationFlag(['--enable-source-maps', own]), undefined, own)
  t.equal(youngGenerationFlag(['--max-semi-space-sizes=1']), SMALL_YOUNG_GENERATION_FLAG, 'another flag')
  const set: string[] = []
  applyYoungGeneration(['--max-semi-space-size=16'], f => set.push(f))
  applyYoungGeneration([], f => set.push(f))
  t.same(set, [SMALL_YOUNG_GENERATION_FLAG])
  t.equal(heapGrowthFlag(75), '--heap-growing-percent=75')
})

// What makes the flag useful: V8 honours it set at run time, after the heap was sized at start. Both children may
// grow their semi-spaces to 16 MiB; the one that applied the flag keeps the size they had when it did.
t.test('set at run time, the flag keeps the young generation from growing', async t => {
  const script = `
    const { setFlagsFromString, getHeapSpaceStatistics } = await import('node:v8')
    const newSpace = () => getHeapSpaceStatistics().find(s => s.space_name === 'new_space').space_size
    if (process.argv[1] === 'small') setFlagsFromString(${JSON.stringify(SMALL_YOUNG_GENERATION_FLAG)})
    const before = newSpace()
    let kept = []
    for (let i = 0; i < 1e6; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 20000) kept = [] }
    console.log(JSON.stringify([before, newSpace()]))
  `
  const newSpace = (mode: string): [before: number, after: number] =>
    JSON.parse(
      execFileSync(process.execPath, ['--max-semi-space-size=16', '--input-type=module', '-e', script, mode], {
        encoding: 'utf8',
        timeout: 30_000,
        // Without the test runner's NODE_OPTIONS: its loader would allocate (and grow the heap) before the script.
        env: { PATH: process.env.PATH },
      }),
    )
  const MiB = 1024 * 1024
  const [, grown] = newSpace('default')
  t.ok(grown >= 16 * MiB, `without it the semi-spaces grow (${grown} bytes)`)
  const [before, after] = newSpace('small')
  t.equal(after, before, 'with it they keep their size')
  t.ok(after <= 4 * MiB, `at most a few MiB (${after} bytes)`)
})
