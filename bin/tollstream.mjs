#!/usr/bin/env -S node --max-semi-space-size=64
// Entry point of the `tollstream` command. In a checkout (src/ present) it runs src/cli/main.ts, compiling the
// TypeScript sources as they are imported (bin/ts-hooks.mjs), so an edit counts at once; an installed package
// has no src/ and runs the JavaScript `npm run build` compiled into lib/, with no compiler at run time.
import fs from 'node:fs';
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
const sources = new URL('../src/cli/main.ts', import.meta.url);
if (fs.existsSync(sources)) {
  register('./ts-hooks.mjs', import.meta.url);
  await import(sources.href);
} else {
  await import('../lib/cli/main.js');
}
