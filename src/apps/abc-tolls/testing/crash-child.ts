/**
 * A server-like process for the crash test: opens the log, tables and notifications in DIR, runs the spend
 * alerts pipeline, and appends the crash test's traffic while the pipeline runs, remembering in
 * `DIR/appended` how many records the log has acknowledged. A restarted child resumes appending from there;
 * a batch that was in flight at the kill is sent again and the stream's dedupe by transaction_id drops what
 * was already stored.
 *
 * Prints `ready` once the pipeline runs. With `--finish` it appends the rest, waits until the pipeline has
 * caught up, closes everything and prints `done`.
 *
 *   node bin/run-ts.mjs src/apps/abc-tolls/testing/crash-child.ts DIR [--finish]
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startSpendAlerts } from '../pipeline.ts';
import { appendRecords, caughtUp, CRASH_TRAFFIC, openStores, trafficPlan, waitFor } from './harness.ts';

const BATCH = 200;
const PAUSE_MS = 20;

const [dir, flag] = process.argv.slice(2);
if (!dir) throw new Error('usage: crash-child.ts DIR [--finish]');
const progressFile = path.join(dir, 'appended');
const plan = trafficPlan(CRASH_TRAFFIC);

const stores = await openStores(dir);
const alerts = await startSpendAlerts({ ...stores, config: { source: 'transactions', batchSize: 100 } });
stores.notify.start();
process.stdout.write('ready\n');

let appended = readProgress();
while (appended < plan.records.length) {
  const next = Math.min(plan.records.length, appended + BATCH);
  await appendRecords(stores.log, 'toll_transactions', plan.records.slice(appended, next), BATCH);
  appended = next;
  // Written aside and renamed, so a kill never leaves the file empty (which would restart the traffic from 0).
  writeFileSync(`${progressFile}.tmp`, String(appended));
  renameSync(`${progressFile}.tmp`, progressFile);
  await new Promise((r) => setTimeout(r, PAUSE_MS));
}

if (flag === '--finish') {
  await waitFor('the pipeline to catch up', () => caughtUp(stores, alerts.mappings[0]!, 'toll_transactions'), 120_000);
  await stores.close();
  process.stdout.write('done\n');
}

function readProgress(): number {
  try {
    return Number(readFileSync(progressFile, 'utf8')) || 0;
  } catch {
    return 0;
  }
}
