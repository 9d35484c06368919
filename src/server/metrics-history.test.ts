/**
 * The metrics history the console charts: samples land in the log every interval, survive a restart, are read
 * back by time and name through GET /v1/metrics/history, and the route checks its parameters and the key.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../app-contract/index.ts';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../config/index.ts';
import { createLogger } from '../core/logger.ts';
import { startServer, type RunningServer } from './index.ts';
import { tollDataApp } from '../../test/support/toll-data-app.ts';
import { parseHistoryQuery, type HistoryPoint } from './metrics-history.ts';
import { waitUntil } from '../../test/support/wait.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(overrides: Partial<TollstreamConfig> = {}): TollstreamConfig {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-history-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  return {
    ...DEFAULT_CONFIG,
    dataDir,
    port: 0,
    logging: { level: 'silent', format: 'json' },
    warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
    metrics: { historyIntervalSeconds: 1, historyRetentionHours: 48 },
    ...overrides,
  };
}

async function start(cfg: TollstreamConfig, apps: readonly App[] = [tollDataApp]): Promise<RunningServer> {
  const server = await startServer(cfg, { logger: createLogger({ level: 'silent' }), apps });
  cleanups.push(() => server.close());
  return server;
}

interface HistoryBody {
  readonly intervalSeconds: number;
  readonly points: readonly HistoryPoint[];
}

async function history(server: RunningServer, query: string, headers: Record<string, string> = {}): Promise<HistoryBody> {
  const res = await fetch(`${server.url}/v1/metrics/history?${query}`, { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as HistoryBody;
}

/** Polls until `accept` holds for the history, or fails after `ms`. */
function waitForHistory(server: RunningServer, query: string, accept: (b: HistoryBody) => boolean, ms = 20_000): Promise<HistoryBody> {
  return waitUntil(`the history of ${query} to match`, () => history(server, query), accept, { timeoutMs: ms, intervalMs: 200 });
}

const RECORDS_IN = 'tollstream_records_in_total{stream="toll_transactions"}';

describe('metrics history', () => {
  it('records samples in the log, keeps them across a restart and reads them back by name', async () => {
    const cfg = config();
    const first = await start(cfg);
    await first.log.append('toll_transactions', Array.from({ length: 7 }, (_, i) => ({ partitionKey: `k${i}`, data: Buffer.from(`{"transaction_id":"t${i}"}`) })));
    const before = await waitForHistory(first, 'since=1h&names=tollstream_records_in_total', (b) => b.points.some((p) => p.values[RECORDS_IN] === 7));
    expect(before.intervalSeconds).toBe(1);
    // Only the names asked for, summed over shards.
    for (const p of before.points) expect(Object.keys(p.values).every((k) => k.startsWith('tollstream_records_in_total{'))).toBe(true);
    await first.close();
    const restartedAt = Date.now();

    const second = await start(cfg);
    const after = await waitForHistory(second, 'since=1h', (b) => b.points.some((p) => p.t > restartedAt));
    // The samples taken before the restart are still there, in time order, and the new ones follow.
    expect(after.points.some((p) => p.t < restartedAt && p.values[RECORDS_IN] === 7)).toBe(true);
    expect(after.points.map((p) => p.t)).toEqual([...after.points.map((p) => p.t)].sort((a, b) => a - b));
    expect(after.points.at(-1)!.node).toBe('local');
    expect(after.points.at(-1)!.values).toHaveProperty(['process_resident_memory_bytes']);

    // Thinned to maxPoints, keeping the oldest and the newest.
    const thin = await history(second, 'since=1h&maxPoints=2');
    expect(thin.points).toHaveLength(2);
    expect(thin.points[0]!.t).toBe(after.points[0]!.t);
  }, 60_000);

  it('refuses bad parameters with their name, and asks for the operator key when keys are set', async () => {
    const open = await start(config());
    for (const [query, parameter] of [['since=yesterday', 'since'], ['names=tollstream_nope', 'names'], ['maxPoints=1', 'maxPoints']] as const) {
      const res = await fetch(`${open.url}/v1/metrics/history?${query}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; context: { parameter: string } } };
      expect(body.error.code).toBe('INVALID_ARGUMENT');
      expect(body.error.context.parameter).toBe(parameter);
    }

    const keyed = await start(config({ auth: { ...DEFAULT_CONFIG.auth, apiKeys: [`sha256:${createHash('sha256').update('operator-key-0123456789abcdef').digest('hex')}`] } }));
    expect((await fetch(`${keyed.url}/v1/metrics/history`)).status).toBe(401);
    const res = await fetch(`${keyed.url}/v1/metrics/history?since=5m`, { headers: { authorization: 'Bearer operator-key-0123456789abcdef' } });
    expect(res.status).toBe(200);
  }, 60_000);

  it('reads `since` as a duration or a time', () => {
    const now = 1_800_000_000_000;
    expect(parseHistoryQuery(new URLSearchParams('since=6h'), now).since).toBe(now - 6 * 3_600_000);
    expect(parseHistoryQuery(new URLSearchParams('since=30m'), now).since).toBe(now - 30 * 60_000);
    expect(parseHistoryQuery(new URLSearchParams(`since=${now - 5}`), now).since).toBe(now - 5);
    expect(parseHistoryQuery(new URLSearchParams(''), now)).toEqual({ since: now - 3_600_000, names: [], maxPoints: 1000 });
  });

  it("keeps an app's own series beside the platform's, which names no app's", async () => {
    const lanes: App = {
      name: 'lanes',
      enabled: () => true,
      historySeries: [{ name: 'tollstream_lanes_opened_total', by: ['lane'] }],
      prepare: () => ({
        async start(ctx) {
          const opened = ctx.metrics.counter('tollstream_lanes_opened_total', 'Lanes opened.', ['lane', 'plaza']);
          opened.labels('L1', 'P1').inc(2);
          opened.labels('L1', 'P2').inc(3);
          return { routes: [] };
        },
      }),
    };
    const withApp = await start(config(), [lanes]);
    const kept = await waitForHistory(withApp, 'since=1h&names=tollstream_lanes_opened_total', (b) => b.points.length > 0);
    // Summed over the labels the app did not keep.
    expect(kept.points.at(-1)!.values).toEqual({ 'tollstream_lanes_opened_total{lane="L1"}': 5 });

    const without = await start(config());
    const res = await fetch(`${without.url}/v1/metrics/history?names=tollstream_lanes_opened_total`);
    expect(res.status).toBe(400);
    const refused = await fetch(`${without.url}/v1/metrics/history?names=tollstream_station_alerts_raised_total`);
    expect(refused.status).toBe(400);
  }, 60_000);
});
