#!/usr/bin/env node
// Compiles the server's TypeScript (src/, what only tests import left out) to JavaScript in lib/, one .js file per .ts file with
// the same layout, so a package or a service runs without compiling anything at start: `npm run build`.
// Types are stripped by esbuild with the options bin/ts-hooks.mjs uses at run time in a checkout; relative imports of `.ts`
// files become `.js`; other files under src/ (the shipped SQL) are copied. lib/ sits beside src/, so paths a
// module reads relative to itself (../../docs/openapi.json, ../../dist/web, ../../package.json) are the same.
//
//   node bin/build-server.mjs [--root DIR]     DIR: the package root holding src/ (default: this repository)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { COMPILE_OPTIONS } from './ts-hooks.mjs';

const args = process.argv.slice(2);
const rootAt = args.indexOf('--root');
const root = rootAt >= 0 ? path.resolve(args[rootAt + 1] ?? '.') : fileURLToPath(new URL('..', import.meta.url));
const src = path.join(root, 'src');
const out = path.join(root, 'lib');

/** What only the tests import: tests, the conformance suites, test helpers and harnesses. */
const TEST_ONLY = /(\.test\.ts|(^|\/)conformance\.ts|(^|\/)test-helpers\.ts)$|(^|\/)testing\//;

/** The apps' browser pages (`src/apps/<app>/web/`), which `npm run build:web` bundles into dist/web: the server runs none of them. */
const BROWSER_ONLY = /^apps\/[^/]+\/web\//;

/** `from "./x.ts"`, `import("../y.ts")`, `import "./z.ts"` of a relative path -> the same with `.js`. */
const RELATIVE_TS_IMPORT = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g;

function* files(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else yield p;
  }
}

fs.rmSync(out, { recursive: true, force: true });
let compiled = 0;
let copied = 0;
for (const file of files(src)) {
  const rel = path.relative(src, file);
  if (TEST_ONLY.test(rel) || BROWSER_ONLY.test(rel.split(path.sep).join('/'))) continue;
  const target = path.join(out, rel);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (rel.endsWith('.ts')) {
    const { code } = await transform(fs.readFileSync(file, 'utf8'), { ...COMPILE_OPTIONS, sourcefile: file });
    fs.writeFileSync(target.replace(/\.ts$/, '.js'), code.replace(RELATIVE_TS_IMPORT, (_m, head, quote, spec) => `${head}${quote}${spec}.js${quote}`));
    compiled++;
  } else {
    fs.copyFileSync(file, target);
    copied++;
  }
}
console.log(`compiled ${compiled} files and copied ${copied} into ${path.relative(process.cwd(), out) || out}`);
