#!/usr/bin/env node
// Runs a TypeScript file of this repository (benchmarks, tools): `node bin/run-ts.mjs FILE [ARGS...]`.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bin/run-ts.mjs FILE.ts [ARGS...]');
  process.exit(2);
}
process.setSourceMapsEnabled(true);
register('./ts-hooks.mjs', import.meta.url);
process.argv.splice(1, 2, path.resolve(file));
await import(pathToFileURL(path.resolve(file)).href);
