// scripts/check-engine-boundary.mjs (run by npm test): no module outside src/engine and src/runtime reaches the
// engine's live, mutable state; it passes on this tree and fails, naming file and line, on a tree that does.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t from 'tap'

const SCRIPT = join(import.meta.dirname, '../../scripts/check-engine-boundary.mjs')

function check(root?: string): { status: number | null; out: string } {
  const res = spawnSync(process.execPath, [SCRIPT, ...(root === undefined ? [] : ['--root', root])], {
    encoding: 'utf8',
  })
  return { status: res.status, out: res.stdout + res.stderr }
}

function tree(files: Record<string, string>): string {
  const root = t.testdir({})
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

const ENGINE = {
  'src/engine/group.ts': 'export interface GroupState {}\n',
  'src/engine/types.ts': 'export interface Alert {}\nexport type Labels = Record<string, string>\n',
  'src/engine/snapshot.ts': 'export interface GroupSnapshot {}\n',
}

t.test('this tree keeps the boundary', async t => {
  const { status, out } = check()
  t.equal(status, 0, out)
})

t.test('snapshots, pure helpers, the engine and runtime themselves and the listed exceptions pass', async t => {
  const root = tree({
    ...ENGINE,
    'src/server/ok.ts': [
      "import type { GroupSnapshot } from '../engine/snapshot.js'",
      "import type { Labels } from '../engine/types.js'",
      "import { mapBounded, type GroupEvaluation } from '../engine/group.js'",
      'export const rules = (m: { rules(): unknown }) => m.rules()',
    ].join('\n'),
    'src/runtime/manager.ts':
      "import type { GroupState } from '../engine/group.js'\nexport const g = (manager: any) => manager.groups()\n",
    'src/backtest/replay.ts': "import { newGroupState, type GroupState } from '../engine/group.js'\n",
  })
  const { status, out } = check(root)
  t.equal(status, 0, out)
})

t.test('a mutable state type, a multi-line import, the live alert type and the live groups each fail', async t => {
  const root = tree({
    ...ENGINE,
    'src/server/a.ts': "import type { GroupState } from '../engine/group.js'\n",
    'src/actions/b.ts': "import {\n  mapBounded,\n  type RuleRuntime as R,\n} from '../engine/group.js'\n",
    'src/nodata/c.ts': "\nimport type { Alert, Labels } from '../engine/types.js'\n",
    'src/daemon.ts': 'export const all = (manager: { groups(): unknown }) =>\n  manager.groups()\n',
    'src/webhook/d.ts': "import * as engine from '../engine/group.js'\n",
  })
  const { status, out } = check(root)
  t.equal(status, 1)
  t.match(out, /src\/server\/a\.ts:1: imports GroupState from src\/engine\/group\.ts/)
  t.match(out, /src\/actions\/b\.ts:1: imports RuleRuntime/)
  t.match(out, /src\/nodata\/c\.ts:2: imports Alert from src\/engine\/types\.ts/)
  t.notMatch(out, /imports Labels/)
  t.match(out, /src\/daemon\.ts:2: reads the live groups/)
  t.match(out, /src\/webhook\/d\.ts:1: imports \*/)
})
