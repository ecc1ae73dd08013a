/**
 * The stage map (ARCHITECTURE.md) as a check over the import graph, read with TypeScript's
 * own parser and module resolution: every `import`, `import type`, `export … from` and
 * dynamic `import()` in services/ counts. It fails when
 * - a file imports another stage other than through that stage's `index.ts` (the HTTP
 *   layer's entrance for a stage's routes is `api/kit.ts`; `index.ts` is for the root);
 * - a stage imports the composition root (services/app.ts, services/main.ts);
 * - the device side is reached other than through `devices/catalogue.ts`;
 * - stages import each other, directly or round a longer cycle;
 * - ARCHITECTURE.md's table of stages is not the truth: a folder without its row, an import
 *   its "may import" column does not allow, a test folder that is not there.
 */
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const SERVICES = path.join(ROOT, 'services')
/**
 * The browser code is bundled on its own (services/console/web/tsconfig.json, and the
 * responder's phone likewise) and imports no stage; both share services/shared/web/.
 */
const SKIP = [path.join(SERVICES, 'console', 'web'), path.join(SERVICES, 'responder', 'web')]

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (SKIP.includes(p)) continue
    if (e.isDirectory()) out.push(...sourceFiles(p))
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

const options: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  allowImportingTsExtensions: true,
}
const host = ts.createCompilerHost(options)

interface Edge {
  from: string
  to: string
}

function importsOf(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true)
  const out: string[] = []
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue
    const resolved = ts.resolveModuleName(ref.fileName, file, options, host).resolvedModule
    out.push(
      resolved ? path.resolve(resolved.resolvedFileName) : path.resolve(path.dirname(file), ref.fileName),
    )
  }
  return out
}

/** `services/alarms/engine.ts` → `alarms`; `services/app.ts` → `(root)`; outside services → its top folder. */
function stageOf(file: string): string {
  const rel = path.relative(SERVICES, file)
  if (rel.startsWith('..')) return `../${path.relative(ROOT, file).split(path.sep)[0]}`
  const parts = rel.split(path.sep)
  return parts.length === 1 ? '(root)' : (parts[0] as string)
}

const rel = (f: string) => path.relative(ROOT, f)

function graph(): Edge[] {
  const edges: Edge[] = []
  for (const file of sourceFiles(SERVICES)) for (const to of importsOf(file)) edges.push({ from: file, to })
  return edges
}

function violations(edges: Edge[]): string[] {
  const out: string[] = []
  for (const { from, to } of edges) {
    const a = stageOf(from)
    const b = stageOf(to)
    if (a === b) continue
    if (b === '(root)') {
      out.push(`${rel(from)} imports the composition root ${rel(to)}`)
      continue
    }
    if (b === '../devices') {
      if (rel(to) !== path.join('devices', 'catalogue.ts'))
        out.push(`${rel(from)} imports ${rel(to)}: the device side is reached through devices/catalogue.ts`)
      continue
    }
    if (b.startsWith('../')) {
      out.push(`${rel(from)} imports ${rel(to)}, outside services/ and the device catalogue`)
      continue
    }
    const entrance = path.basename(to)
    if (b === 'api') {
      const allowed = a === '(root)' ? ['index.ts', 'kit.ts'] : ['kit.ts']
      if (path.dirname(to) !== path.join(SERVICES, 'api') || !allowed.includes(entrance))
        out.push(`${rel(from)} imports ${rel(to)}: a stage's routes import services/api/kit.ts only`)
      continue
    }
    if (path.dirname(to) !== path.join(SERVICES, b) || entrance !== 'index.ts')
      out.push(`${rel(from)} imports ${rel(to)}, not services/${b}/index.ts`)
  }
  return out
}

function stageCycles(edges: Edge[]): string[][] {
  const next = new Map<string, Set<string>>()
  for (const { from, to } of edges) {
    const a = stageOf(from)
    const b = stageOf(to)
    if (a === b || a === '(root)' || b.startsWith('../')) continue
    const set = next.get(a) ?? new Set<string>()
    set.add(b)
    next.set(a, set)
  }
  // Every elementary cycle through its smallest stage name, found by DFS (a dozen stages).
  const cycles: string[][] = []
  const stages = [...next.keys()].sort()
  for (const start of stages) {
    const walk = (node: string, pathSoFar: string[]) => {
      for (const n of next.get(node) ?? []) {
        if (n === start) cycles.push([...pathSoFar, start])
        else if (n > start && !pathSoFar.includes(n)) walk(n, [...pathSoFar, n])
      }
    }
    walk(start, [start])
  }
  return cycles
}

/** ARCHITECTURE.md's table: stage → the stages it may import, and its tests' folder. */
function declaredMap(): Map<string, { mayImport: Set<string>; tests: string }> {
  const text = fs.readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8')
  const table = text.slice(text.indexOf('<!-- stages:'))
  const rows = new Map<string, { mayImport: Set<string>; tests: string }>()
  for (const line of table.split('\n').slice(1)) {
    if (!line.startsWith('|')) {
      if (rows.size > 0) break
      continue
    }
    const cells = line.split('|').map((c) => c.trim())
    const [stage, folder, , mayImport, tests] = cells.slice(1)
    if (stage === undefined || stage === 'stage' || stage.startsWith('---')) continue
    if (folder !== `\`services/${stage}/\``) throw new Error(`ARCHITECTURE.md: row ${stage} names ${folder}`)
    rows.set(stage, {
      mayImport: new Set(
        (mayImport ?? '')
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== '' && x !== '—'),
      ),
      tests: (tests ?? '').replaceAll('`', ''),
    })
  }
  return rows
}

describe('the stage map', () => {
  const edges = graph()

  it('reads a graph with every stage in it', () => {
    const stages = new Set(edges.map((e) => stageOf(e.from)))
    for (const s of [
      'broker',
      'intake',
      'spool',
      'pipeline',
      'store',
      'alarms',
      'dispatch',
      'linkage',
      'api',
    ])
      expect(stages).toContain(s)
    expect(edges.length).toBeGreaterThan(100)
  })

  it('gives every stage an index.ts, its only entrance', () => {
    const missing = fs
      .readdirSync(SERVICES, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !fs.existsSync(path.join(SERVICES, e.name, 'index.ts')))
      .map((e) => e.name)
    expect(missing).toEqual([])
    expect(violations(edges)).toEqual([])
  })

  it('has no two stages importing each other, directly or round a cycle', () => {
    expect(stageCycles(edges).map((c) => c.join(' → '))).toEqual([])
  })

  it('is the one ARCHITECTURE.md draws: every stage a row, every import allowed there, every test folder there', () => {
    const declared = declaredMap()
    const folders = fs
      .readdirSync(SERVICES, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
    expect([...declared.keys()].sort()).toEqual(folders)
    const undeclared = new Set<string>()
    for (const { from, to } of edges) {
      const a = stageOf(from)
      const b = stageOf(to)
      if (a === b || a === '(root)' || b.startsWith('../')) continue
      if (!declared.get(a)?.mayImport.has(b)) undeclared.add(`${a} → ${b} (${rel(from)})`)
    }
    expect([...undeclared]).toEqual([])
    for (const [stage, row] of declared)
      expect(fs.existsSync(path.join(ROOT, row.tests)), `${stage}: ${row.tests}`).toBe(true)
  })

  it('catches what it is for (the check itself, on made-up edges)', () => {
    const f = (p: string) => path.join(SERVICES, p)
    const bad: Edge[] = [
      { from: f('dispatch/offers.ts'), to: f('alarms/views.ts') },
      { from: f('alarms/routes.ts'), to: f('api/auth.ts') },
      { from: f('alarms/engine.ts'), to: f('app.ts') },
      { from: f('alarms/engine.ts'), to: f('dispatch/index.ts') },
    ]
    expect(violations(bad)).toHaveLength(3)
    expect(stageCycles(bad).map((c) => c.join(' → '))).toEqual(['alarms → dispatch → alarms'])
  })
})
