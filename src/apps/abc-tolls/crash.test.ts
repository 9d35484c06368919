/**
 * Exactly once under crashes: a process running the pipeline while it appends traffic is killed with
 * SIGKILL again and again; afterwards the monthly totals equal the oracle and every predicted breach is in
 * the customer's inbox exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Customers } from './customers.ts';
import {
  CRASH_TRAFFIC,
  createTransactionsStream,
  monthlyTotalsOf,
  openStores,
  oracleTotals,
  settledInbox,
  tempDir,
  trafficPlan,
} from './testing/harness.ts';

const KILLS = 5;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CHILD = path.join(ROOT, 'src/apps/abc-tolls/testing/crash-child.ts');

function startChild(dir: string, args: string[] = []): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), CHILD, dir, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, lines: readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

async function expectLine(lines: AsyncIterator<string>, expected: string): Promise<void> {
  const next = await lines.next();
  expect(next.done ? '(exited)' : next.value).toBe(expected);
}

/** Records the children have had acknowledged so far (0 before the first batch). */
function appendedSoFar(dir: string): number {
  try {
    return Number(readFileSync(path.join(dir, 'appended'), 'utf8')) || 0;
  } catch {
    return 0;
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('spend alerts under repeated SIGKILL', () => {
  let temp: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterAll(async () => {
    await temp?.remove();
  });

  it(`sums every toll once and notifies every breach once across ${KILLS} kills`, { timeout: 240_000 }, async () => {
    temp = await tempDir('tollstream-abc-tolls-crash-');
    const dir = temp.dir;
    const plan = trafficPlan(CRASH_TRAFFIC);
    const ids = new Set(plan.records.map((r) => r.customer_id));

    const setup = await openStores(dir);
    await createTransactionsStream(setup.log);
    setup.notify.createTopic('spend-alerts', { kind: 'inbox', customerField: 'customer_id' });
    const customers = await Customers.open({ store: setup.store, now: () => CRASH_TRAFFIC.startTime });
    for (const id of ids) await customers.create({ id, name: `Customer ${id}`, email: `${id.toLowerCase()}@example.com` });
    for (const [id, cents] of plan.thresholds) await customers.setThreshold(id, cents);
    await setup.close();

    const appendedAfterKill: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const { child, lines } = startChild(dir);
      await expectLine(lines, 'ready');
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 450)));
      child.kill('SIGKILL');
      await exited(child);
      expect(child.signalCode).toBe('SIGKILL');
      appendedAfterKill.push(appendedSoFar(dir));
    }
    console.log(`records appended after each kill: ${appendedAfterKill.join(', ')} of ${plan.records.length}`);
    // The kills landed while traffic was still arriving.
    expect(appendedAfterKill[0]).toBeLessThan(plan.records.length);

    const { child, lines } = startChild(dir, ['--finish']);
    await expectLine(lines, 'ready');
    await expectLine(lines, 'done');
    await exited(child);
    expect(child.exitCode).toBe(0);

    const stores = await openStores(dir);
    try {
      stores.notify.start();
      expect(monthlyTotalsOf(stores.tables, ids)).toEqual(oracleTotals(plan.oracle));
      expect(plan.oracle.breachList.length).toBeGreaterThanOrEqual(20);
      for (const customerId of plan.thresholds.keys()) {
        const inbox = await settledInbox(stores.notify, 'spend-alerts', customerId);
        const expected = plan.oracle.breachList.filter((b) => b.customerId === customerId);
        expect(inbox.map((e) => [e.message.month, e.message.threshold_cents, e.message.transaction_id, e.message.total_cents]).sort()).toEqual(
          expected.map((b) => [b.month, b.thresholdCents, b.transactionId, b.totalCents]).sort(),
        );
      }
    } finally {
      await stores.close();
    }
  });
});
