/**
 * Station traffic alerts through the whole server, fed by the simulator: reference data for three plazas
 * loaded through the HTTP API, a planted traffic drop at P01, a total outage at P02, normal traffic at P03,
 * then a reference change under the running query that makes P03's normal traffic alarming from the next
 * window on. Operators see each alert once: in the alert list, on the live alert stream and at a webhook
 * whose signatures check out.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { verifyWebhook } from '../../src/notify/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { TrafficGenerator, type PlantedDrop, type TollTransaction } from '../../src/simulator/index.ts';
import { SseReader } from '../support/sse.ts';
import { waitFor } from '../support/wait.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

const WINDOW_MS = 30 * 60_000;
/** A Wednesday, 2:00 pm UTC: windows W0 = 14:00-14:30, W1 = 14:30-15:00, ... */
const START = Date.parse('2026-11-25T14:00:00.000Z');
const windowStart = (n: number) => new Date(START + n * WINDOW_MS).toISOString();
const windowEnd = (n: number) => new Date(START + (n + 1) * WINDOW_MS).toISOString();
const PLAZAS = ['P01', 'P02', 'P03'];
const SECRET = 'whsec-test-station-alerts-0123456789';

const DROPS: PlantedDrop[] = [
  // A drop to a fifth of P01's traffic during W1, and no vehicle at all at P02 during W2.
  { plazaId: 'P01', from: START + WINDOW_MS, to: START + 2 * WINDOW_MS, factor: 0.2 },
  { plazaId: 'P02', from: START + 2 * WINDOW_MS, to: START + 3 * WINDOW_MS, factor: 0 },
];

function generator(drops: readonly PlantedDrop[]): TrafficGenerator {
  return new TrafficGenerator({
    seed: 3, customers: 200, plazas: 3, startTime: START, eventsPerSecond: 0.5, dailyProfile: false,
    lateShare: 0, outOfOrderShare: 0.02, outOfOrderMaxMs: 5000, drops,
  });
}

/** What each plaza normally sees per window: the simulator's own traffic without the planted drops. */
function normalCounts(): Map<string, number> {
  const perWindow = new Map<string, number>();
  for (const r of generator([]).until(START + 6 * WINDOW_MS)) {
    if (!r.duplicate) perWindow.set(r.transaction.plaza_id, (perWindow.get(r.transaction.plaza_id) ?? 0) + 1);
  }
  return new Map([...perWindow].map(([plaza, n]) => [plaza, Math.round(n / 6)]));
}

/** One row per plaza, day of week and slot: every slot of the week expects the plaza's normal count. */
function referenceRows(expected: ReadonlyMap<string, number>, threshold: (plaza: string, expected: number) => number) {
  const rows: Record<string, unknown>[] = [];
  for (const plaza of PLAZAS) {
    const e = expected.get(plaza)!;
    for (let day = 0; day < 7; day++) for (let slot = 0; slot < 48; slot++) rows.push({ plaza_id: plaza, day_of_week: day, slot, expected_count: e, alert_threshold: threshold(plaza, e) });
  }
  return rows;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(): Promise<RunningServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-stations-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config: TollstreamConfig = {
    ...DEFAULT_CONFIG,
    dataDir,
    port: 0,
    logging: { level: 'silent', format: 'json' },
    storage: { ...DEFAULT_CONFIG.storage, fsync: 'interval' },
    ...spendAlertsConfig({ enabled: false }),
    queries: { enabled: true, checkpointIntervalMs: 200 },
  };
  const server = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return server;
}

async function api(url: string, method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url + route, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Sends the simulator's records with event time before `until` through the native records endpoint. */
async function feed(url: string, traffic: Iterator<{ transaction: TollTransaction }>, until: number, sent: TollTransaction[]): Promise<void> {
  let batch: TollTransaction[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const res = await fetch(`${url}/v1/streams/toll_transactions/records?partitionKeyField=transaction_id`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: batch.map((t) => JSON.stringify(t)).join('\n'),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { failedRecordCount: number }).failedRecordCount).toBe(0);
    batch = [];
  };
  for (;;) {
    const next = traffic.next();
    if (next.done) break;
    batch.push(next.value.transaction);
    sent.push(next.value.transaction);
    if (batch.length === 500) await flush();
    if (Date.parse(next.value.transaction.event_time) >= until) break;
  }
  await flush();
}

interface Delivery {
  readonly id: string;
  readonly valid: boolean;
  readonly alert: Record<string, unknown>;
}

async function webhookReceiver(): Promise<{ url: string; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const headers = { id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']) };
      // Standard Webhooks shape: { type: <topic>, timestamp, data: <the alert> }.
      const payload = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      deliveries.push({ id: headers.id, valid: verifyWebhook(SECRET, headers, body) && payload.type === 'station-alerts', alert: payload.data });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, deliveries };
}

describe('station traffic alerts in the running server', () => {
  it('alerts once for a planted drop and a total outage, never for normal traffic, and follows a reference change from the next window', async () => {
    const server = await start();
    const hook = await webhookReceiver();
    expect((await api(server.url, 'POST', '/v1/operator/subscriptions', { url: hook.url, secret: SECRET })).status).toBe(201);

    const expected = normalCounts();
    const threshold = (_plaza: string, e: number) => Math.floor(e / 2);
    const loaded = await api(server.url, 'PUT', '/v1/reference/stations', referenceRows(expected, threshold));
    expect(loaded).toMatchObject({ status: 200, json: { rows: 3 * 7 * 48 } });

    // The operator console's live stream, open before any traffic.
    const stream = await fetch(`${server.url}/v1/operator/alerts/stream`);
    expect(stream.status).toBe(200);
    const sse = new SseReader(stream.body!);
    cleanups.push(() => sse.cancel());

    // W0 to W3 whole and the start of W4: W3's counts close W2, in which P02 saw nobody.
    const traffic = generator(DROPS)[Symbol.iterator]();
    const sent: TollTransaction[] = [];
    await feed(server.url, traffic, START + 4 * WINDOW_MS + 5 * 60_000, sent);

    const alertsNow = async () => (await api(server.url, 'GET', '/v1/operator/alerts')).json.alerts as Record<string, unknown>[];
    const firstTwo = await waitFor('the alerts of the drop and the outage', async () => {
      const alerts = await alertsNow();
      return alerts.length >= 2 ? alerts : undefined;
    }, { timeoutMs: 60_000 });
    const dropCount = new Set(sent.filter((t) => t.plaza_id === 'P01' && t.event_time >= windowStart(1) && t.event_time < windowEnd(1)).map((t) => t.transaction_id)).size;
    expect(dropCount).toBeGreaterThan(0);
    expect(firstTwo.sort(byWindow)).toEqual([
      { type: 'station_traffic_low', plaza_id: 'P01', window_start: windowStart(1), window_end: windowEnd(1), vehicle_count: dropCount, expected_count: expected.get('P01'), alert_threshold: threshold('P01', expected.get('P01')!), reference: 'station', cause: 'below_threshold' },
      { type: 'station_traffic_low', plaza_id: 'P02', window_start: windowStart(2), window_end: windowEnd(2), vehicle_count: 0, expected_count: expected.get('P02'), alert_threshold: threshold('P02', expected.get('P02')!), reference: 'station', cause: 'no_traffic' },
    ]);

    // P03's threshold goes above its normal traffic while the query runs; W4 is the next window to close.
    const raised = (plaza: string, e: number) => (plaza === 'P03' ? e * 3 : threshold(plaza, e));
    expect((await api(server.url, 'PUT', '/v1/reference/stations', referenceRows(expected, raised))).status).toBe(200);
    // The change reaches the query through its changelog subscription; give it a moment before W4 closes.
    await new Promise((r) => setTimeout(r, 500));
    await feed(server.url, traffic, START + 6 * WINDOW_MS + 5 * 60_000, sent);

    const all = await waitFor('the P03 alerts of W4 and W5', async () => {
      const alerts = await alertsNow();
      return alerts.some((a) => a.plaza_id === 'P03' && a.window_start === windowStart(5)) ? alerts : undefined;
    }, { timeoutMs: 60_000 });
    const keys = all.map((a) => `${a.plaza_id}@${a.window_start}`).sort();
    expect(keys).toEqual([`P01@${windowStart(1)}`, `P02@${windowStart(2)}`, `P03@${windowStart(4)}`, `P03@${windowStart(5)}`].sort());
    const p03 = all.filter((a) => a.plaza_id === 'P03');
    for (const a of p03) expect(a).toMatchObject({ cause: 'below_threshold', alert_threshold: expected.get('P03')! * 3, reference: 'station' });

    // The live stream and the webhook got each alert once, the webhook signed with the subscription's secret.
    const streamed: string[] = [];
    while (streamed.length < 4) {
      const event = await sse.next();
      if (!event) break;
      if (event.event !== 'alert') continue;
      const alert = JSON.parse(event.data) as Record<string, unknown>;
      streamed.push(`${alert.plaza_id}@${alert.window_start}`);
    }
    expect(streamed.sort()).toEqual(keys);
    await waitFor('four webhook deliveries', () => hook.deliveries.length >= 4, { timeoutMs: 60_000 });
    expect(hook.deliveries.every((d) => d.valid)).toBe(true);
    expect(hook.deliveries.map((d) => d.id).sort()).toEqual(all.map((a) => `station:${a.plaza_id}:${a.window_start}`).sort());
    expect(hook.deliveries.map((d) => `${d.alert.plaza_id}@${d.alert.window_start}`).sort()).toEqual(keys);

    // An operator acknowledges the outage: the listing says who and when; doing it again changes nothing.
    const outage = { plaza_id: 'P02', window_start: windowStart(2) };
    const ack = await api(server.url, 'POST', '/v1/operator/alerts/acknowledge', { ...outage, by: 'night shift' });
    expect(ack.status).toBe(200);
    expect(ack.json.alert).toMatchObject({ ...outage, cause: 'no_traffic', acknowledged_by: 'night shift' });
    const again = await api(server.url, 'POST', '/v1/operator/alerts/acknowledge', { ...outage, by: 'day shift' });
    expect(again.json.alert).toEqual(ack.json.alert);
    const listed = await alertsNow();
    expect(listed.filter((a) => a.acknowledged_at !== undefined).map((a) => `${a.plaza_id}@${a.window_start}`)).toEqual([`P02@${windowStart(2)}`]);
    expect((await api(server.url, 'POST', '/v1/operator/alerts/acknowledge', { plaza_id: 'P09', window_start: windowStart(2) })).status).toBe(404);
    expect((await api(server.url, 'POST', '/v1/operator/alerts/acknowledge', { plaza_id: 'P02' })).json).toMatchObject({ error: { code: 'INVALID_ARGUMENT', context: { field: 'window_start' } } });
    // Nothing was raised again: still one webhook delivery per alert.
    expect(hook.deliveries).toHaveLength(4);

    // The station alert functions show in /metrics with the other functions (the console lists them from there).
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const processed = (mapping: string) => Number(new RegExp(`^tollstream_function_records_total\\{mapping="${mapping}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    expect(processed('station-alerts-notifier')).toBeGreaterThanOrEqual(4);
    expect(processed('station-alerts-evaluator')).toBeGreaterThan(0);
    expect(metrics).toMatch(/^tollstream_function_iterator_age_seconds\{mapping="station-alerts-notifier"\} /m);
  });
});

function byWindow(a: Record<string, unknown>, b: Record<string, unknown>): number {
  return String(a.window_start).localeCompare(String(b.window_start));
}
