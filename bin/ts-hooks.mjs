// Module hooks (node:module register) that run this repository's TypeScript sources: a `.ts` file is compiled
// by esbuild (types stripped, nothing bundled) when it is first imported. Compiled without esbuild's keepNames,
// so a function created on a hot path costs no extra property definition; source maps are inline, and the
// entry points turn them on so stack traces name the .ts lines.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

/** How a `.ts` file is compiled, here and ahead of time by bin/build-server.mjs (`npm run build:server`). */
export const COMPILE_OPTIONS = {
  loader: 'ts',
  format: 'esm',
  target: 'node20',
  sourcemap: 'inline',
  // As tsconfig.json: `import type` is erased, every other import is kept; class fields use define semantics.
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
};

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/')) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const source = await readFile(file, 'utf8');
  const { code } = await transform(source, { ...COMPILE_OPTIONS, sourcefile: file });
  return { format: 'module', source: code, shortCircuit: true };
}
