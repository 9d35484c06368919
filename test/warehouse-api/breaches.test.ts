/**
 * Threshold breaches reach the warehouse through the running server: a customer with a threshold, tolls sent
 * to the native API that cross it, and the report `threshold_breaches_per_day` shows the breach once, also
 * after a restart (which neither re-appends nor re-delivers it).
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import { query, serverConfig, start, tempDataDir, type QueryAnswer } from './helpers.ts';

const DAY = 86_400_000;
const CUSTOMER = 'C0000777';
const dirs: string[] = [];
const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function api(url: string, method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url + route, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Sends tolls of `CUSTOMER` (event time now) through the native records endpoint, partitioned by customer. */
async function sendTolls(url: string, tolls: ReadonlyArray<{ id: string; cents: number }>): Promise<void> {
  const body = tolls
    .map(({ id, cents }) =>
      JSON.stringify({
        transaction_id: id,
        customer_id: CUSTOMER,
        tag_id: `TAG-${CUSTOMER}`,
        plate: 'ABC-1234',
        plaza_id: 'P01',
        lane: 2,
        vehicle_class: 2,
        amount_cents: cents,
        currency: 'USD',
        event_time: new Date().toISOString(),
      }),
    )
    .join('\n');
  const res = await fetch(`${url}/v1/streams/toll_transactions/records?partitionKeyField=customer_id`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body,
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { failedRecordCount: number }).failedRecordCount).toBe(0);
}

/** The report over the days around now, polled until `done` holds for its rows (or 30 s pass). */
async function reportUntil(url: string, what: string, done: (rows: QueryAnswer['rows']) => boolean): Promise<QueryAnswer['rows']> {
  const from = new Date(Date.now() - DAY).toISOString().slice(0, 10);
  const to = new Date(Date.now() + 2 * DAY).toISOString().slice(0, 10);
  const deadline = Date.now() + 30_000;
  let rows: QueryAnswer['rows'] = [];
  for (;;) {
    const res = await fetch(`${url}/v1/reports/threshold_breaches_per_day?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as QueryAnswer & { report: string };
    expect(answer.columns.map((c) => c.name)).toEqual(['day', 'cause', 'breaches', 'customers', 'over_threshold_cents']);
    rows = answer.rows;
    if (done(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the report holds ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function storedBreaches(url: string): Promise<QueryAnswer['rows']> {
  const { status, body } = await query(url, 'SELECT breach_id, customer_id, threshold_cents, total_cents, cause FROM threshold_breaches ORDER BY threshold_cents, sequence_number');
  expect(status).toBe(200);
  return (body as QueryAnswer).rows;
}

/** The spend pipeline reports a crossing per transaction or per window of transactions; either is a breach. */
const CAUSE = expect.stringMatching(/^(transaction|window)$/);

/** The report's rows (one per day and cause) summed: breaches and how far past the thresholds. */
function totals(rows: QueryAnswer['rows']): { days: string[]; breaches: number; overCents: number } {
  return {
    days: [...new Set(rows.map((r) => String(r[0])))],
    breaches: rows.reduce((n, r) => n + Number(r[2]), 0),
    overCents: rows.reduce((n, r) => n + Number(r[4]), 0),
  };
}

describe('threshold breaches in the warehouse of a running server', () => {
  it('shows a breach crossed by sent tolls in threshold_breaches_per_day once, and again once after a restart', async () => {
    const dir = tempDataDir('breaches');
    dirs.push(dir);
    const server = await start(serverConfig(dir));
    servers.push(server);

    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: CUSTOMER, email: 'c777@example.com' })).status).toBe(201);
    const issued = await api(server.url, 'POST', `/v1/customers/${CUSTOMER}/tokens`);
    expect(issued.status).toBe(201);
    const token = issued.json.token as string;
    expect((await api(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: 1000 }, token)).json).toMatchObject({ threshold_cents: 1000, breached: false });

    // 400 + 400 stay under 1000; 450 crosses it (total 1250); its producer retry is dropped by the stream.
    await sendTolls(server.url, [{ id: 'b-1', cents: 400 }, { id: 'b-2', cents: 400 }]);
    await sendTolls(server.url, [{ id: 'b-3', cents: 450 }, { id: 'b-3', cents: 450 }]);
    const today = new Date().toISOString().slice(0, 10);
    const first = await reportUntil(server.url, 'the first breach', (rows) => rows.length > 0);
    expect(first).toEqual([[today, CAUSE, 1, 1, 250]]);
    const { json: me } = await api(server.url, 'GET', '/v1/me/spend', undefined, token);
    const month = me.month as string;
    expect(await storedBreaches(server.url)).toEqual([[`breach:${CUSTOMER}:${month}:1000`, CUSTOMER, 1000, 1250, CAUSE]]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('tollstream_delivery_rows_total{delivery="spend_alerts"} 1\n');
    expect(metrics).toContain('tollstream_notify_mirrors_pending 0\n');

    // After a restart: more spend past the same threshold adds nothing; a raised threshold crossed again is
    // a second breach, and once it shows, the first is still stored once.
    await server.close();
    servers.pop();
    const again = await start(serverConfig(dir));
    servers.push(again);
    expect((await api(again.url, 'PUT', '/v1/me/threshold', { threshold_cents: 2000 }, token)).json).toMatchObject({ threshold_cents: 2000, breached: false });
    await sendTolls(again.url, [{ id: 'b-4', cents: 100 }]);
    await sendTolls(again.url, [{ id: 'b-5', cents: 700 }]);
    const second = await reportUntil(again.url, 'the second breach', (rows) => totals(rows).breaches >= 2);
    expect(totals(second)).toEqual({ days: [today], breaches: 2, overCents: 250 + 50 });
    expect(await storedBreaches(again.url)).toEqual([
      [`breach:${CUSTOMER}:${month}:1000`, CUSTOMER, 1000, 1250, CAUSE],
      [`breach:${CUSTOMER}:${month}:2000`, CUSTOMER, 2000, 2050, CAUSE],
    ]);
  });
});
