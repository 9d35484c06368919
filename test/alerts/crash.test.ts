/**
 * The spending alerts under whole-process crashes: `tollstream up` is killed with SIGKILL again and again
 * while simulator traffic keeps arriving through the Kinesis API; the producer sends again whatever was not
 * acknowledged (the stream drops the copies by transaction_id). After the last restart and a drain, every
 * month total equals the oracle's over the acknowledged records, and every breach is in its inbox exactly once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultTransportKinesisClient } from '../../bench/lib/kinesis-clients.ts';
import { findFreePort } from '../../bin/processes.ts';
import { SpendOracle, TrafficGenerator, type TollTransaction } from '../../src/simulator/index.ts';
import { createCustomers, inboxOf, inboxVersusOracle, planAlertTraffic, putUntilAcknowledged, startUpServer, waitForTotals, type UpServer } from './support.ts';

const KILLS = 5;
const BATCH = 200;
/** Records per second the producer aims at between kills, so the kills land while traffic flows. */
const PRODUCER_RATE = 2_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('spending alerts under repeated SIGKILL of tollstream up', () => {
  it(`sums every acknowledged toll once and notifies every breach once across ${KILLS} kills`, { timeout: 120_000 }, async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-alerts-crash-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    // A fixed port, so the producer finds the server again after each restart.
    const port = await findFreePort();
    let server: UpServer = await startUpServer(dataDir, port);
    cleanups.push(() => server.stop());

    const plan = planAlertTraffic({ seed: 11, customers: 30, records: 24_000, startTime: Date.now() - 30_000, eventsPerSecond: 1_000, planted: 20, crossedByTraffic: 6 });
    const tokens = await createCustomers(server.url, plan.thresholds);

    const oracle = new SpendOracle(plan.thresholds);
    let acknowledged = 0;
    const onStored = (records: readonly TollTransaction[]) => {
      for (const tx of records) oracle.add(tx);
      acknowledged += records.length;
    };
    const client = defaultTransportKinesisClient(server.url, { requestTimeoutMs: 5_000 });
    cleanups.push(() => client.destroy());
    const producerStats = { failedRequests: 0, recordRetries: 0 };
    let producerDone = false;
    const producer = (async () => {
      const generator = new TrafficGenerator(plan.generatorOptions);
      for (let sent = 0; sent < plan.count; sent += BATCH) {
        const batch: TollTransaction[] = [];
        for (let i = 0; i < BATCH && sent + i < plan.count; i++) batch.push(generator.next().transaction);
        const outcome = await putUntilAcknowledged(client, 'toll_transactions', batch, onStored);
        producerStats.failedRequests += outcome.failedRequests;
        producerStats.recordRetries += outcome.recordRetries;
        await sleep((BATCH / PRODUCER_RATE) * 1000);
      }
      producerDone = true;
    })();

    const acknowledgedAtKill: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      // Long enough after the restart that the spend function is working through the traffic again.
      await sleep(700 + Math.floor(Math.random() * 900));
      expect(producerDone, `traffic ended before kill ${kill + 1}`).toBe(false);
      await server.kill9();
      expect(server.child.signalCode).toBe('SIGKILL');
      acknowledgedAtKill.push(acknowledged);
      server = await startUpServer(dataDir, port);
    }
    await producer;
    console.log(
      `alerts crash test: ${KILLS} kills at ${acknowledgedAtKill.join(', ')} acknowledged records of ${plan.count}; ` +
        `${producerStats.failedRequests} requests sent again, ${producerStats.recordRetries} records retried one by one; ` +
        `${oracle.uniqueTransactions} unique tolls, ${oracle.breachList.length} breaches predicted`,
    );
    expect(acknowledged).toBeGreaterThanOrEqual(plan.count);
    expect(producerStats.failedRequests).toBeGreaterThan(0);

    await waitForTotals(server.url, tokens, (id, month) => oracle.total(id, month), 60_000);
    expect(oracle.breachList.length).toBeGreaterThanOrEqual(plan.planted.size + 5);
    for (const [customerId, token] of tokens) {
      const inbox = await inboxOf(server.url, token);
      const { got, want } = inboxVersusOracle(inbox, oracle.breachList.filter((b) => b.customerId === customerId), (month) => oracle.total(customerId, month));
      expect(got, `inbox of ${customerId}`).toEqual(want);
    }
  });
});
