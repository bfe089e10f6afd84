// Lists the failed tests of a tap run (its TAP output, test-output/tap.log) so that they appear next to the summary
// line at the end of the run: a CI log is often read from its tail, and tap reports a failure where it happens,
// thousands of lines earlier. Each failure is printed as its path (file › subtest › assertion) with the first lines
// of its diagnostics. A subtest that failed only because a child failed is not repeated.
//
// Usage: node scripts/failed-tests.mjs [test-output/tap.log] [--max-diagnostic-lines N]
import { readFileSync } from 'node:fs'

const INDENT = 4
const SUBTEST = /^( *)# Subtest: (.*)$/
const RESULT = /^( *)(not ok|ok) \d+(?: - (.*?))?(?: # (?:time=|SKIP|TODO).*)?$/

/**
 * The failed leaves of a TAP stream: every `not ok` that is not just a parent of another `not ok`.
 * @param {string} tap
 * @param {number} maxDiagnosticLines
 * @returns {{ path: string[], diagnostics: string[] }[]}
 */
function failedTests(tap, maxDiagnosticLines) {
  const lines = tap.split('\n')
  const names = []
  const open = []
  const childFailed = []
  const failures = []
  for (let i = 0; i < lines.length; i++) {
    const subtest = SUBTEST.exec(lines[i])
    if (subtest !== null) {
      const depth = Math.floor(subtest[1].length / INDENT)
      names[depth] = subtest[2].replaceAll('\\#', '#')
      open[depth] = true
      childFailed[depth] = false
      continue
    }
    const result = RESULT.exec(lines[i])
    if (result === null) continue
    const depth = Math.floor(result[1].length / INDENT)
    const closesSubtest = open[depth] === true
    open[depth] = false
    // Skipped as a whole: a diagnostic's text (an expected value, a test's output) may hold lines that look like TAP.
    const diagnostics = diagnosticsAfter(lines, i)
    i = diagnostics.end
    if (result[2] === 'ok') continue
    const onlyForAChild = closesSubtest && childFailed[depth] === true
    for (let d = 0; d < depth; d++) childFailed[d] = true
    if (onlyForAChild) continue
    const path = names.slice(0, depth)
    path.push(closesSubtest ? names[depth] : (result[3] ?? '(no description)').replaceAll('\\#', '#'))
    const shown = diagnostics.lines.slice(0, maxDiagnosticLines)
    if (diagnostics.lines.length > maxDiagnosticLines) shown.push('…')
    failures.push({ path, diagnostics: shown })
  }
  return failures
}

/**
 * tap writes a result's diagnostics as an indented YAML block, "---" to "...", right after its line: its lines
 * (unindented) and the index of its last line (the result's own without a block).
 */
function diagnosticsAfter(lines, index) {
  const first = lines[index + 1]
  if (first === undefined || first.trim() !== '---') return { lines: [], end: index }
  const indent = first.length - first.trimStart().length
  const block = []
  let i = index + 2
  for (; i < lines.length && lines[i].trim() !== '...'; i++) block.push(lines[i].slice(indent))
  return { lines: block, end: i }
}

function main(argv) {
  let file = 'test-output/tap.log'
  let max = 30
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help') {
      console.log('usage: node scripts/failed-tests.mjs [TAP_FILE] [--max-diagnostic-lines N]')
      console.log('Prints every failed test of a TAP file (default test-output/tap.log) with its diagnostics.')
      return 0
    }
    if (argv[i] === '--max-diagnostic-lines') {
      max = Number(argv[++i])
      if (!Number.isInteger(max) || max < 0) {
        console.error('--max-diagnostic-lines: a whole number ≥ 0')
        return 2
      }
    } else file = argv[i]
  }
  let tap
  try {
    tap = readFileSync(file, 'utf8')
  } catch (err) {
    console.error(`cannot read ${file}: ${err.message}`)
    return 2
  }
  const failures = failedTests(tap, max)
  if (failures.length === 0) return 0
  console.log(`== failed tests (${failures.length})`)
  for (const { path, diagnostics } of failures) {
    console.log(`not ok: ${path.join(' › ')}`)
    for (const line of diagnostics) console.log(`    ${line}`)
  }
  return 0
}

process.exitCode = main(process.argv.slice(2))
