/**
 * BI tools read the warehouse while the server runs: the server holds the DuckDB file, and `bi.enabled` serves
 * it over PostgreSQL's wire protocol. Checked with psql and pg against a real server fed through its API.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import { query, send, serverConfig, start, tempDataDir, traffic, waitForRows, type QueryAnswer } from './helpers.ts';

const run = promisify(execFile);
const PASSWORD = 'bi-test-password-1234';

describe('BI tools on a running server (bi.enabled)', () => {
  let dir: string;
  let server: RunningServer;
  let expectedRows: number;

  beforeAll(async () => {
    dir = tempDataDir('bi');
    server = await start(serverConfig(dir, { bi: { ...DEFAULT_CONFIG.bi, enabled: true, port: 0, user: 'metabase', password: PASSWORD } }));
    const records = traffic(600, 5);
    expectedRows = new Set(records.map((r) => r.transaction.transaction_id)).size;
    await send(server.url, records);
    await waitForRows(server.url, expectedRows);
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers psql with what the HTTP query endpoint answers', async () => {
    const sql = 'SELECT plaza_id, count(*) AS n, sum(amount_cents) AS cents FROM toll_transactions GROUP BY plaza_id ORDER BY plaza_id';
    const http = (await query(server.url, sql)).body as QueryAnswer;
    const { stdout } = await run('psql', ['-X', '-A', '-t', '-w', '-F', ',', '-h', '127.0.0.1', '-p', String(server.biPort), '-U', 'metabase', '-d', 'tollstream', '-c', sql], {
      env: { PATH: process.env.PATH ?? '', PGPASSWORD: PASSWORD },
    });
    expect(stdout.trim().split('\n')).toEqual(http.rows.map((r) => r.join(',')));
    expect(http.rows.reduce((n, r) => n + Number(r[1]), 0)).toBe(expectedRows);
  });

  it('answers pg, and refuses writes and a wrong password', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: server.biPort, user: 'metabase', password: PASSWORD, database: 'tollstream' });
    await client.connect();
    try {
      expect((await client.query('SELECT count(*)::INTEGER AS n FROM toll_transactions')).rows).toEqual([{ n: expectedRows }]);
      await expect(client.query('DROP TABLE toll_transactions')).rejects.toMatchObject({ code: '25006' });
      expect((await client.query('SELECT count(*)::INTEGER AS n FROM toll_transactions')).rows).toEqual([{ n: expectedRows }]);
    } finally {
      await client.end();
    }
    const wrong = new pg.Client({ host: '127.0.0.1', port: server.biPort, user: 'metabase', password: 'not-the-password', database: 'tollstream' });
    wrong.on('error', () => undefined);
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('stops serving when the server stops', async () => {
    const other = tempDataDir('bi-stop');
    const running = await start(serverConfig(other, { bi: { ...DEFAULT_CONFIG.bi, enabled: true, port: 0, password: PASSWORD } }));
    const port = running.biPort;
    await running.close();
    fs.rmSync(other, { recursive: true, force: true });
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'tollstream', password: PASSWORD });
    client.on('error', () => undefined);
    await expect(client.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('refuses a BI port beyond loopback before anything opens', async () => {
    const other = tempDataDir('bi-exposed');
    await expect(start(serverConfig(other, { bi: { ...DEFAULT_CONFIG.bi, enabled: true, host: '0.0.0.0', port: 0, password: PASSWORD } }))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      context: { key: 'bi.host' },
    });
    expect(fs.readdirSync(other)).toEqual([]);
    fs.rmSync(other, { recursive: true, force: true });
  });
});
