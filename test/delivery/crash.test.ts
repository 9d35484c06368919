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
import type { TollTransaction } from '../../src/simulator/index.ts';
import { encodeAggregate } from '../support/kpl-aggregate.ts';
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

/**
 * Starts and SIGKILLs a delivery process `kills` times, each after a few delivered batches at a random moment of
 * the next, with `appendMore` between runs; returns the warehouse's row count after each kill.
 */
async function killRepeatedly(dir: string, kills: number, appendMore: () => Promise<void>): Promise<number[]> {
  const progress: number[] = [];
  for (let kill = 0; kill < kills; kill++) {
    const { child, lines } = startChild(dir);
    await expectLine(lines, 'ready');
    const batches = 1 + Math.floor(Math.random() * 4);
    for (let b = 0; b < batches; b++) await expectLine(lines, 'batch');
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 30)));
    child.kill('SIGKILL');
    await exited(child);
    expect(child.signalCode).toBe('SIGKILL');
    const warehouse = await openWarehouse(dir);
    progress.push(Number((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows[0]![0]));
    await warehouse.close();
    await appendMore();
  }
  return progress;
}

/** Runs a last delivery process until `total` records are accounted for. */
async function deliverAll(dir: string, total: number): Promise<void> {
  const { child, lines } = startChild(dir, ['--until', String(total)]);
  await expectLine(lines, 'ready');
  await expectLine(lines, 'done');
  await exited(child);
  expect(child.exitCode).toBe(0);
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

    const progress = await killRepeatedly(dir, KILLS, () => appendMore(PER_RUN));
    console.log(`rows in the warehouse after each kill: ${progress.join(", ")} (appended ${appended})`);
    // Each run delivered something before it was killed, and none had everything yet.
    for (let k = 1; k < progress.length; k++) expect(progress[k]).toBeGreaterThan(progress[k - 1]!);
    expect(progress.every((n) => n < appended)).toBe(true);

    await deliverAll(dir, appended);

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

  it('loads each user record of KPL aggregates exactly once across kills, batches never ending inside an aggregate', { timeout: 240_000 }, async () => {
    const kplDir = await tempDir('tollstream-delivery-kpl-crash-');
    try {
      // Aggregates of 64 user records against batches of at most 200 records: most batches would end inside one.
      const txs = transactions(3200, 13);
      let appended = 0;
      const appendAggregates = async (count: number) => {
        const log = await openLog(kplDir);
        if (appended === 0) await log.createStream('toll_transactions', { shardCount: 2 });
        const next: TollTransaction[] = txs.slice(appended, appended + count);
        for (let i = 0; i < next.length; i += 64) {
          const users = next.slice(i, i + 64).map((t) => ({ partitionKey: t.customer_id, data: JSON.stringify(t) }));
          const [result] = await log.append('toll_transactions', [{ partitionKey: `aggregate-${appended + i}`, data: encodeAggregate(users) }]);
          expect(result?.ok).toBe(true);
        }
        appended += next.length;
        await log.close();
      };
      await appendAggregates(1600);
      const progress = await killRepeatedly(kplDir, 3, () => appendAggregates(512));
      console.log(`rows in the warehouse after each kill (KPL aggregates): ${progress.join(', ')} (appended ${appended})`);
      await deliverAll(kplDir, appended);
      const warehouse = await openWarehouse(kplDir);
      try {
        const result = await warehouse.query('SELECT count(*), count(DISTINCT transaction_id), sum(amount_cents)::BIGINT FROM toll_transactions');
        expect(result.rows[0]).toEqual([appended, appended, txs.slice(0, appended).reduce((s, t) => s + t.amount_cents, 0)]);
      } finally {
        await warehouse.close();
      }
    } finally {
      await fs.rm(kplDir, { recursive: true, force: true });
    }
  });
});
