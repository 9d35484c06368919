/**
 * SQL tests as data. Each folder of test/sql/cases (our own cases) and test/sql/conformance (examples of the
 * Kinesis Data Analytics and Flink documentation, each naming its page in query.sql) holds query.sql, one <stream>.ndjson per input, and
 * expected.ndjson: every output row (error-stream rows too) with a `_stream` field, compared after a
 * canonical sort. An optional options.json adds runQuery options. Every case runs with tiny batches (2
 * rows) and with the default batch size, and both must give the expected rows.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';
import type { RunQueryOptions } from '../../src/sql/index.ts';

const FOLDERS = ['cases', 'conformance'];
const FIXED_NOW = Date.UTC(2026, 0, 1);

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function readNdjson(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}

async function runCase(dir: string, batchSize: number): Promise<string[]> {
  const inputs: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.ndjson') && f !== 'expected.ndjson') inputs[f.slice(0, -'.ndjson'.length)] = join(dir, f);
  }
  const extra = existsSync(join(dir, 'options.json')) ? (JSON.parse(readFileSync(join(dir, 'options.json'), 'utf8')) as Partial<RunQueryOptions>) : {};
  const result = await runQuery({ sql: readFileSync(join(dir, 'query.sql'), 'utf8'), inputs, baseDir: dir, batchSize, now: () => FIXED_NOW, ...extra });
  const rows: string[] = [];
  for (const [stream, list] of Object.entries(result.streams)) for (const r of list) rows.push(canonical({ _stream: stream, ...r }));
  return rows.sort();
}

describe.each(FOLDERS)('SQL cases of test/sql/%s', (folder) => {
  for (const name of readdirSync(join(import.meta.dirname, folder)).sort()) {
    it(name.replace(/-/g, ' '), async () => {
      const dir = join(import.meta.dirname, folder, name);
      const expected = readNdjson(join(dir, 'expected.ndjson')).map(canonical).sort();
      expect(await runCase(dir, 2)).toEqual(expected);
      expect(await runCase(dir, 512)).toEqual(expected);
    });
  }
});
