import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonical, openLog, readAll, RECENT_SPEND_SQL, reference, SPEND_SQL, tempDir, traffic } from './support.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const COUNT = 3000;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** Starts the child; resolves with it once it printed `ready`, i.e. once its query runs. */
function startChild(dir: string, mode: 'run' | 'final', threads: number) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), path.join(ROOT, 'test/queries/crash-child.ts'), dir, mode, String(COUNT), String(threads)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    void exited.then((code) => reject(new Error(`child exited (${code}) before it was ready: ${err}`)));
  });
  return { child, ready, exited, output: () => out, errors: () => err };
}

describe('crash recovery', () => {
  it('a query killed with SIGKILL again and again while input arrives ends with the output of an uninterrupted run', { timeout: 180_000 }, async () => {
    const { dir, cleanup } = await tempDir('queries-crash-');
    cleanups.push(cleanup);
    // Kill points spread over the input (each child appends 50 records every 20 ms or so, continuing where the last one stopped).
    const delays = [150, 400, 250, 700, 50, 550, 350];
    const seen: { input: number; output: number; duplicatesDropped: number }[] = [];
    // Every other child runs the query's operators on the main thread: a checkpoint and the keys of its rows
    // mean the same wherever the operators ran.
    for (const [i, delay] of delays.entries()) {
      const c = startChild(dir, 'run', i % 2 === 0 ? 1 : 0);
      await c.ready;
      await new Promise((r) => setTimeout(r, delay));
      c.child.kill('SIGKILL');
      expect(await c.exited).toBe(null);
      const log = await openLog(dir);
      const dropped = [...c.output().matchAll(/dropped (\d+)/g)].map((m) => Number(m[1])).at(-1) ?? 0;
      seen.push({ input: (await readAll(log, 'toll_transactions')).length, output: (await readAll(log, 'customer_spend').catch(() => [])).length, duplicatesDropped: dropped });
      await log.close();
    }
    // The kills hit while input was still arriving and after the query had written rows.
    expect(seen.some((s) => s.input < COUNT && s.output > 0)).toBe(true);
    const final = startChild(dir, 'final', 1);
    await final.ready;
    const code = await final.exited;
    expect(code, final.errors()).toBe(0);
    expect(final.output()).toContain('done');
    console.log(`crash test: ${JSON.stringify(seen)} ${final.output().trim().split('\n').join(', ')}`);

    const log = await openLog(dir);
    try {
      const records = traffic(COUNT, 21);
      expect((await readAll(log, 'toll_transactions')).length).toBe(COUNT + 2);
      const flush = (await readAll(log, 'toll_transactions')).filter((r) => String(r.transaction_id).startsWith('flush-'));
      expect(flush.length).toBe(2);
      const expected = await reference(SPEND_SQL, 'toll_transactions', [...records, ...flush], 'customer_spend');
      expect(canonical(await readAll(log, 'customer_spend'))).toEqual(expected);
      // The OVER window, whose checkpoints hold the partitions that changed (on a thread: handed to the store unopened).
      expect(canonical(await readAll(log, 'recent_spend'))).toEqual(await reference(RECENT_SPEND_SQL, 'toll_transactions', [...records, ...flush], 'recent_spend'));
    } finally {
      await log.close();
    }
  });
});
