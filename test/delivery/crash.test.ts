/**
 * Exactly once under crashes: a delivery process is killed with SIGKILL again and again, mid-batch, while
 * more records land in the log between runs; afterwards the warehouse holds every record of the log once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { appendTransactions, openLog, openWarehouse, tempDir, transactions } from './helpers.ts';

const KILLS = 7;
const INITIAL = 3000;
const PER_RUN = 1500;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = path.join(ROOT, 'test/delivery/crash-child.ts');

function startChild(dir: string, args: string[] = []): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), CHILD, dir, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, lines: readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

/** Reads lines until `expected` (skipping `batch` progress lines unless that is what is expected). */
async function expectLine(lines: AsyncIterator<string>, expected: string): Promise<void> {
  for (;;) {
    const next = await lines.next();
    if (!next.done && next.value === 'batch' && expected !== 'batch') continue;
    expect(next.done ? '(exited)' : next.value).toBe(expected);
    return;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('delivery under repeated SIGKILL', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it(`loads each record of the log exactly once across ${KILLS} kills`, { timeout: 240_000 }, async () => {
    dir = await tempDir('tollstream-delivery-crash-');
    const txs = transactions(INITIAL + KILLS * PER_RUN, 11);
    let appended = 0;
    const appendMore = async (count: number) => {
      const log = await openLog(dir!);
      if (appended === 0) await log.createStream('toll_transactions', { shardCount: 2 });
      await appendTransactions(log, 'toll_transactions', txs.slice(appended, appended + count));
      appended += count;
      await log.close();
    };
    await appendMore(INITIAL);

    const progress: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const { child, lines } = startChild(dir);
      await expectLine(lines, 'ready');
      // Kill after a few delivered batches, at a random moment of the next one.
      const batches = 1 + Math.floor(Math.random() * 4);
      for (let b = 0; b < batches; b++) await expectLine(lines, 'batch');
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 30)));
      child.kill('SIGKILL');
      await exited(child);
      expect(child.signalCode).toBe('SIGKILL');
      const warehouse = await openWarehouse(dir);
      progress.push(Number((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows[0]![0]));
      await warehouse.close();
      await appendMore(PER_RUN);
    }
    console.log(`rows in the warehouse after each kill: ${progress.join(", ")} (appended ${appended})`);
    // Each run delivered something before it was killed, and none had everything yet.
    for (let k = 1; k < progress.length; k++) expect(progress[k]).toBeGreaterThan(progress[k - 1]!);
    expect(progress.every((n) => n < appended)).toBe(true);

    const { child, lines } = startChild(dir, ['--until', String(appended)]);
    await expectLine(lines, 'ready');
    await expectLine(lines, 'done');
    await exited(child);
    expect(child.exitCode).toBe(0);

    const warehouse = await openWarehouse(dir);
    try {
      const result = await warehouse.query(
        'SELECT count(*), count(DISTINCT transaction_id), count(DISTINCT (shard_id, sequence_number)), sum(amount_cents)::BIGINT FROM toll_transactions',
      );
      expect(result.rows[0]).toEqual([appended, appended, appended, txs.reduce((s, t) => s + t.amount_cents, 0)]);
      expect((await warehouse.query('SELECT count(*) FROM _delivery_errors')).rows[0]![0]).toBe(0);
    } finally {
      await warehouse.close();
    }
  });
});
