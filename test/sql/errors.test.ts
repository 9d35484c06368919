/**
 * Parser and planner errors as data: each test/sql/errors/<name>.sql starts with
 *   -- fail: <CODE> <line>:<column> <message fragment>
 * and optionally `-- inputs: a, b` naming (empty) inputs the script may read.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { runQuery } from '../../src/sql/index.ts';

const DIR = join(import.meta.dirname, 'errors');

async function* records(rows: Record<string, unknown>[]) {
  yield* rows;
}

describe('SQL errors', () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.sql')).sort()) {
    it(file.replace(/\.sql$/, '').replace(/-/g, ' '), async () => {
      const sql = readFileSync(join(DIR, file), 'utf8');
      const fail = /^-- fail: (\w+) (\d+):(\d+) (.+)$/m.exec(sql);
      if (!fail) throw new Error(`${file} has no '-- fail: CODE line:col message' header`);
      const [, code, line, column, fragment] = fail;
      const inputNames = /^-- inputs: (.+)$/m.exec(sql)?.[1]?.split(',').map((s) => s.trim()) ?? [];
      const inputs = Object.fromEntries(inputNames.map((n) => [n, records([{ plate: 'AB-1', amount_cents: 100, event_time: '2026-01-01T00:00:00Z' }])]));
      const err = await runQuery({ sql, inputs }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isTollstreamError(err)).toBe(true);
      if (!isTollstreamError(err)) return;
      expect(err.code).toBe(code);
      expect(err.message).toContain(fragment!.trim());
      expect(err.message).toMatch(new RegExp(`^line ${line}, column ${column}:`));
      expect(err.message).toContain('^');
    });
  }
});
