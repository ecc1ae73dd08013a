/**
 * The browser pages' bundle (the console, the responder's phone): one Preact entry and the CSS
 * it imports, bundled by esbuild into memory at start, for the browsers a duty room and a
 * phone have (no file is written; the service serves it from memory).
 */
import { build } from 'esbuild'

export interface WebBundle {
  js: string
  css: string
}

/** Bundle `entry` (a .tsx file) with what it imports, images inlined as data: URLs. */
export async function bundleWebApp(entry: string): Promise<WebBundle> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    outdir: '/web-out',
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    loader: { '.png': 'dataurl', '.svg': 'dataurl' },
    legalComments: 'none',
    logLevel: 'silent',
  })
  const file = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? ''
  return { js: file('.js'), css: file('.css') }
}
