#!/usr/bin/env -S node --max-semi-space-size=64
// Entry point of the `tollstream` command: runs src/cli/main.ts, compiling the TypeScript sources as they are
// imported (bin/ts-hooks.mjs).
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./ts-hooks.mjs', import.meta.url);
await import('../src/cli/main.ts');
