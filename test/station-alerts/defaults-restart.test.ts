/**
 * Stations without reference data get the configured defaults (expected count and threshold), a station
 * that goes silent is flagged from the windows that follow, and a restart neither loses the evaluator's
 * place nor raises an alert a second time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { waitFor } from '../support/wait.ts';
import { stationAlertsConfig } from '../../src/apps/station-alerts/index.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

const WINDOW_MS = 30 * 60_000;
const START = Date.parse('2026-11-23T08:00:00.000Z');
const windowStart = (n: number) => new Date(START + n * WINDOW_MS).toISOString();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function configFor(dataDir: string): TollstreamConfig {
  return {
    ...DEFAULT_CONFIG,
    dataDir,
    port: 0,
    logging: { level: 'silent', format: 'json' },
    storage: { ...DEFAULT_CONFIG.storage, fsync: 'interval' },
    warehouse: { enabled: false },
    ...spendAlertsConfig({ enabled: false }),
    queries: { enabled: true, checkpointIntervalMs: 200 },
    ...stationAlertsConfig({ defaultExpected: 100, defaultThreshold: 50 }),
  };
}

async function start(dataDir: string): Promise<RunningServer> {
  const server = await startServer(configFor(dataDir), { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return server;
}

let counter = 0;
/** `count` vehicles at `plaza`, spread over window `n` from `from` (a share of the window) to its end. */
function vehicles(plaza: string, n: number, count: number, from = 0): Record<string, unknown>[] {
  const begin = START + n * WINDOW_MS + from * WINDOW_MS;
  const span = (1 - from) * WINDOW_MS;
  return Array.from({ length: count }, (_, i) => ({
    transaction_id: `t-${++counter}`,
    plaza_id: plaza,
    event_time: new Date(Math.floor(begin + ((i + 0.5) * span) / count)).toISOString(),
  }));
}

/**
 * Eight vehicles at `plaza` within seconds after `ms`: they move event time on past a window's end plus the
 * query's lateness, on every shard of the input (each shard holds the watermark back until it moves too).
 */
function at(plaza: string, ms: number): Record<string, unknown>[] {
  return Array.from({ length: 8 }, (_, i) => ({ transaction_id: `t-${++counter}`, plaza_id: plaza, event_time: new Date(ms + i * 1000).toISOString() }));
}

async function send(url: string, records: Record<string, unknown>[]): Promise<void> {
  records.sort((a, b) => String(a.event_time).localeCompare(String(b.event_time)));
  const res = await fetch(`${url}/v1/streams/toll_transactions/records?partitionKeyField=transaction_id`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: records.map((r) => JSON.stringify(r)).join('\n'),
  });
  expect(((await res.json()) as { failedRecordCount: number }).failedRecordCount).toBe(0);
}

async function alerts(url: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${url}/v1/operator/alerts`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { alerts: Record<string, unknown>[] }).alerts;
}

describe('station alerts without reference data, across a restart', () => {
  it('judges by the configured defaults, flags a silent station, and alerts once per window after a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-stations-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    let server = await start(dataDir);

    // P08 keeps event time moving; P07 is normal, then thin (below the default threshold 50), then silent.
    await send(server.url, [...vehicles('P07', 0, 60), ...vehicles('P08', 0, 60), ...vehicles('P07', 1, 10), ...vehicles('P08', 1, 60)]);
    await send(server.url, [...vehicles('P08', 2, 60), ...vehicles('P07', 3, 60), ...vehicles('P08', 3, 60), ...at('P08', START + 4 * WINDOW_MS + 100_000)]);
    const raised = await waitFor('two alerts for P07', async () => {
      const list = await alerts(server.url);
      return list.length >= 2 ? list : undefined;
    }, { timeoutMs: 60_000 });
    expect(raised.map((a) => [a.plaza_id, a.window_start, a.vehicle_count, a.expected_count, a.alert_threshold, a.reference, a.cause]).sort()).toEqual([
      ['P07', windowStart(1), 10, 100, 50, 'default', 'below_threshold'],
      ['P07', windowStart(2), 0, 100, 50, 'default', 'no_traffic'],
    ]);

    // A restart: the query resumes from its checkpoint, the mappings from theirs.
    await server.close();
    server = await start(dataDir);
    // P07 goes silent again in W4 and W5; W6 closes them.
    await send(server.url, [...vehicles('P08', 4, 58, 0.1), ...vehicles('P08', 5, 60), ...vehicles('P08', 6, 60), ...vehicles('P07', 6, 60), ...at('P08', START + 7 * WINDOW_MS + 100_000)]);
    const after = await waitFor('the alerts of W4 and W5', async () => {
      const list = await alerts(server.url);
      return list.length >= 4 ? list : undefined;
    }, { timeoutMs: 60_000 });
    expect(after.map((a) => `${a.plaza_id}@${a.window_start}`).sort()).toEqual([`P07@${windowStart(1)}`, `P07@${windowStart(2)}`, `P07@${windowStart(4)}`, `P07@${windowStart(5)}`]);
    // Nothing was late: every vehicle was counted in its window.
    const query = (await (await fetch(`${server.url}/v1/queries/station_alerts`)).json()) as { stats: { lateRows: number } };
    expect(query.stats.lateRows).toBe(0);
  });
});
