/**
 * The i18n check for a web UI's code: every user-visible string goes through the catalogues.
 * It parses each .ts/.tsx file with TypeScript and reports
 * - JSX text with a letter in it (`<p>Waiting</p>`), and string literals with a letter in
 *   user-visible attributes (title, placeholder, aria-label, alt, label),
 * - keys passed to `t('…')` (string literals, or template literals' static prefixes) that are
 *   missing from a catalogue,
 * - keys that one catalogue has and another lacks (plural suffixes `_one`/`_other` folded).
 * A call `t(\`incidentStatus.${s}\`)` needs some key under `incidentStatus.` in every catalogue.
 */
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

const VISIBLE_ATTRIBUTES = new Set(['title', 'placeholder', 'aria-label', 'alt', 'label'])
const LETTER = /\p{L}/u
const PLURAL = /_(zero|one|two|few|many|other)$/

export interface I18nProblem {
  file: string
  line: number
  problem: string
}

type Catalogue = Record<string, unknown>

function flatKeys(obj: Catalogue, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? flatKeys(v as Catalogue, `${prefix}${k}.`) : [`${prefix}${k}`],
  )
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return /\.tsx?$/.test(e.name) ? [p] : []
  })
}

/** Check the UI code under `dir` against its catalogues (`{lang: catalogue}`). */
export function checkI18n(dir: string, catalogues: Record<string, Catalogue>): I18nProblem[] {
  const problems: I18nProblem[] = []
  const keys = Object.fromEntries(
    Object.entries(catalogues).map(([lang, c]) => [
      lang,
      new Set(flatKeys(c).map((k) => k.replace(PLURAL, ''))),
    ]),
  )
  const langs = Object.keys(keys)
  for (const a of langs)
    for (const b of langs)
      for (const k of keys[a]!)
        if (!keys[b]!.has(k))
          problems.push({ file: `${b} catalogue`, line: 0, problem: `lacks "${k}" (${a} has it)` })

  for (const file of sourceFiles(dir)) {
    const text = fs.readFileSync(file, 'utf8')
    const src = ts.createSourceFile(
      file,
      text,
      ts.ScriptTarget.Latest,
      true,
      file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
    )
    const at = (n: ts.Node) => src.getLineAndCharacterOfPosition(n.getStart(src)).line + 1
    const rel = path.relative(dir, file)
    const report = (n: ts.Node, problem: string) => problems.push({ file: rel, line: at(n), problem })
    const visit = (n: ts.Node): void => {
      if (ts.isJsxText(n) && LETTER.test(n.text)) report(n, `text not in the catalogues: "${n.text.trim()}"`)
      if (ts.isJsxAttribute(n) && VISIBLE_ATTRIBUTES.has(n.name.getText(src))) {
        const init = n.initializer
        const lit =
          init && ts.isStringLiteral(init)
            ? init
            : init && ts.isJsxExpression(init) && init.expression && ts.isStringLiteralLike(init.expression)
              ? init.expression
              : undefined
        if (lit && LETTER.test(lit.text))
          report(n, `${n.name.getText(src)} not in the catalogues: "${lit.text}"`)
      }
      if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 't') {
        const arg = n.arguments[0]
        if (arg !== undefined && ts.isStringLiteralLike(arg) && !ts.isNoSubstitutionTemplateLiteral(arg)) {
          for (const lang of langs)
            if (!keys[lang]!.has(arg.text)) report(n, `key "${arg.text}" missing from ${lang}`)
        } else if (arg !== undefined && ts.isNoSubstitutionTemplateLiteral(arg)) {
          for (const lang of langs)
            if (!keys[lang]!.has(arg.text)) report(n, `key "${arg.text}" missing from ${lang}`)
        } else if (arg !== undefined && ts.isTemplateExpression(arg)) {
          const prefix = arg.head.text
          for (const lang of langs)
            if (![...keys[lang]!].some((k) => k.startsWith(prefix)))
              report(n, `no key under "${prefix}" in ${lang}`)
        }
      }
      ts.forEachChild(n, visit)
    }
    visit(src)
  }
  return problems
}

/** The problems as lines, for an assertion's message. */
export function formatI18nProblems(problems: readonly I18nProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}: ${p.problem}`).join('\n')
}
