/**
 * `tollstream up` with `warehouse.kind: 'postgres'`: records sent to the native API reach PostgreSQL exactly
 * once across a restart, and reports and SQL answer over HTTP from it. Each run gets its own database.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { isTollstreamError } from '../../src/core/errors.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { distinct, query, send, serverConfig, start, T0, tempDataDir, traffic, waitForRows, type QueryAnswer } from '../warehouse-api/helpers.ts';
import { postgresSchema } from './server.ts';

describe('the server with a PostgreSQL warehouse', () => {
  const admin = postgresSchema('unused').admin;
  const database = `srv_${crypto.randomBytes(6).toString('hex')}`;
  let url: string;
  let dir: string;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${database}`);
    const u = new URL(postgresSchema('unused').url);
    u.pathname = `/${database}`;
    url = u.toString();
    dir = tempDataDir('postgres');
  });
  afterAll(async () => {
    await server?.close();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers sent records into PostgreSQL exactly once across a restart, and answers reports from it', async () => {
    const config = serverConfig(dir, { warehouse: { enabled: true, kind: 'postgres', postgresUrl: url } });
    const first = traffic(1500, 21);
    const second = traffic(1500, 22, T0 + 3600_000);
    server = await start(config);
    await send(server.url, first);
    await waitForRows(server.url, distinct(first).length);
    await server.close();
    server = await start(config);
    await send(server.url, second);
    const txs = [...distinct(first), ...distinct(second)];
    await waitForRows(server.url, txs.length);

    const { body } = await query(server.url, 'SELECT count(*), count(DISTINCT transaction_id), sum(amount_cents) FROM toll_transactions');
    expect((body as QueryAnswer).rows).toEqual([[txs.length, txs.length, txs.reduce((s, t) => s + t.amount_cents, 0)]]);
    const res = await fetch(`${server.url}/v1/reports/revenue_by_vehicle_class_day?from=2026-11-26&to=2026-11-27`);
    expect(res.status).toBe(200);
    const report = (await res.json()) as QueryAnswer;
    expect(report.rows.reduce((s, r) => s + Number(r[3]), 0)).toBe(txs.length);
    const write = await query(server.url, 'DELETE FROM toll_transactions');
    expect(write.status).toBe(400);
    expect(JSON.stringify(write.body)).toContain('WAREHOUSE_READ_ONLY');
  });

  it('refuses a postgres warehouse without a URL, and a URL without the postgres kind, naming the key', async () => {
    const cwd = tempDataDir('postgres-config');
    try {
      await expect(loadConfig({ cwd, env: { TOLLSTREAM_WAREHOUSE_KIND: 'postgres' } })).rejects.toSatisfy((e) => isTollstreamError(e, 'CONFIG_INVALID') && /warehouse.postgresUrl/.test(e.message));
      await expect(loadConfig({ cwd, env: { TOLLSTREAM_WAREHOUSE_POSTGRES_URL: url } })).rejects.toThrow(/conflicts with warehouse.kind 'duckdb'/);
      await expect(loadConfig({ cwd, env: { TOLLSTREAM_WAREHOUSE_KIND: 'postgres', TOLLSTREAM_WAREHOUSE_POSTGRES_URL: 'localhost:5432' } })).rejects.toThrow(/must be a URL like postgres:/);
      const config = await loadConfig({ cwd, env: { TOLLSTREAM_WAREHOUSE_KIND: 'postgres', TOLLSTREAM_WAREHOUSE_POSTGRES_URL: url } });
      expect(config.warehouse).toMatchObject({ enabled: true, kind: 'postgres', postgresUrl: url });
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
