/**
 * The spending alerts end to end through `tollstream up`, as ABC Tolls runs them: an operator creates thirty
 * customers and their tokens, each customer sets a threshold, and simulator traffic arrives through the AWS
 * SDK's Kinesis client with producer retries, out-of-order and late records, and planted spends that cross
 * thresholds at known times. Every breach the oracle predicts must land in the right inbox exactly once, and
 * every month total must equal the oracle's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kinesisSink, runSimulation, SpendOracle, TrafficGenerator, type Sink } from '../../src/simulator/index.ts';
import { SseReader } from '../support/sse.ts';
import { createCustomers, inboxOf, inboxVersusOracle, planAlertTraffic, startUpServer, waitForTotals } from './support.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Sends every `every`-th batch a second time after it was acknowledged, as a producer does that lost the answer. */
function resendingSink(inner: Sink, every: number): Sink & { readonly resent: number } {
  let batches = 0;
  let resent = 0;
  return {
    get resent() {
      return resent;
    },
    async send(batch) {
      const result = await inner.send(batch);
      if (++batches % every === 0) {
        await inner.send(batch);
        resent += batch.length;
      }
      return result;
    },
    close: () => inner.close(),
  };
}

describe('spending alerts end to end through tollstream up', () => {
  it('notifies every predicted breach once in the right inbox and sums every toll once', { timeout: 90_000 }, async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-alerts-e2e-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const server = await startUpServer(dataDir, 0);
    cleanups.push(() => server.stop());

    // Event time ends about now, so the tolls fall in the month GET /v1/me/spend reports.
    const plan = planAlertTraffic({ seed: 7, customers: 30, records: 12_000, startTime: Date.now() - 35_000, eventsPerSecond: 400, planted: 20, crossedByTraffic: 6 });
    const tokens = await createCustomers(server.url, plan.thresholds);
    expect(tokens.size).toBe(30);

    // One customer watches the open notification stream while the traffic arrives.
    const watched = 'C0000003';
    const stream = await fetch(`${server.url}/v1/me/notifications/stream`, { headers: { authorization: `Bearer ${tokens.get(watched)}` } });
    expect(stream.status).toBe(200);
    const events = new SseReader(stream.body!);
    cleanups.push(() => events.cancel());

    const oracle = new SpendOracle(plan.thresholds);
    const eventTimes = new Map<string, string>();
    const sink = resendingSink(kinesisSink({ endpoint: server.url, stream: 'toll_transactions' }), 5);
    cleanups.push(() => sink.close());
    const stats = await runSimulation({
      generator: new TrafficGenerator(plan.generatorOptions),
      sink,
      count: plan.count,
      batchSize: 250,
      // One batch at a time, so the oracle sees records in the order the server stores them.
      concurrency: 1,
      onAcknowledged: (batch) => {
        for (const r of batch) {
          oracle.add(r.transaction);
          eventTimes.set(r.transaction.transaction_id, r.transaction.event_time);
        }
      },
    });
    expect(stats).toMatchObject({ sent: plan.count, accepted: plan.count, failed: 0 });
    expect(stats.duplicatesSent).toBeGreaterThan(100);
    expect(sink.resent).toBeGreaterThan(1000);

    await waitForTotals(server.url, tokens, (id, month) => oracle.total(id, month), 45_000);

    // The oracle agrees with the plan: each planted spend is the one that crosses its customer's threshold.
    const breaches = oracle.breachList;
    for (const [customerId, plant] of plan.planted) {
      const mine = breaches.filter((b) => b.customerId === customerId);
      expect(mine).toHaveLength(1);
      expect(Date.parse(eventTimes.get(mine[0]!.transactionId)!)).toBeGreaterThanOrEqual(plant.at);
    }
    expect(breaches.length).toBeGreaterThanOrEqual(plan.planted.size + 5);

    for (const [customerId, token] of tokens) {
      const inbox = await inboxOf(server.url, token);
      const { got, want } = inboxVersusOracle(inbox, breaches.filter((b) => b.customerId === customerId), (month) => oracle.total(customerId, month));
      expect(got, `inbox of ${customerId}`).toEqual(want);
    }

    // The watching customer got its breach live on the stream.
    const live = await events.next();
    expect(live?.event).toBe('notification');
    expect(JSON.parse(live!.data).message).toMatchObject({ type: 'threshold_breach', customer_id: watched, threshold_cents: plan.thresholds.get(watched) });
  });
});
