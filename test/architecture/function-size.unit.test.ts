/**
 * "A function past ~150 lines is a stage that has not been split yet": every function of the
 * stages in services/ (declarations, expressions, arrows, methods), measured with TypeScript's
 * parser from its first line to its last, stays at or under the limit. The console's browser
 * code (services/console/web, Preact components whose length is mostly markup) is left out.
 */
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SERVICES = path.resolve(import.meta.dirname, '../../services')
const LIMIT = 150

function functionsOver(limit: number): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) {
        if (p !== path.join(SERVICES, 'console', 'web')) walk(p)
      } else if (/\.tsx?$/.test(e.name)) {
        const src = ts.createSourceFile(p, fs.readFileSync(p, 'utf8'), ts.ScriptTarget.Latest, true)
        const visit = (n: ts.Node) => {
          if (ts.isFunctionLike(n) && 'body' in n && n.body !== undefined) {
            const first = src.getLineAndCharacterOfPosition(n.getStart()).line
            const last = src.getLineAndCharacterOfPosition(n.getEnd()).line
            if (last - first + 1 > limit)
              out.push(`${path.relative(SERVICES, p)}:${first + 1} (${last - first + 1} lines)`)
          }
          ts.forEachChild(n, visit)
        }
        visit(src)
      }
    }
  }
  walk(SERVICES)
  return out
}

describe('function size', () => {
  it(`keeps every function in services/ at ${LIMIT} lines or fewer`, () => {
    expect(functionsOver(LIMIT)).toEqual([])
  })

  it('measures what it says (a limit every stage factory exceeds finds them)', () => {
    expect(functionsOver(20).length).toBeGreaterThan(10)
  })
})
