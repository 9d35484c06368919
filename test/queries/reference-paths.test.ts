/**
 * The files a continuous query may read: its SQL comes from a request, so a file reference table ('path')
 * must lie in the server's reference directory (`queries.referenceDir`, default `<dataDir>/reference`);
 * any other file the server can read is refused, however the path gets there.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { runCli } from '../cli/helpers.ts';
import { stationAlertsConfig } from '../../src/apps/station-alerts/index.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { tollTransactionsStream } from '../../src/simulator/index.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Setup {
  readonly server: RunningServer;
  readonly dataDir: string;
  /** A file outside the reference directory that the server can read, as a system file would be. */
  readonly secret: string;
}

async function setup(overrides: Partial<TollstreamConfig['queries']> = {}, warehouse = false): Promise<Setup> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-refpaths-'));
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
  const secret = path.join(root, 'secret.csv');
  fs.writeFileSync(secret, 'plaza_id,name\nP01,root:x:0:0:root:/root:/bin/bash\n');
  const dataDir = path.join(root, 'data');
  const config: TollstreamConfig = {
    ...DEFAULT_CONFIG, dataDir, port: 0, logging: { level: 'silent', format: 'json' }, warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: warehouse },
    ...spendAlertsConfig({ enabled: false }), ...stationAlertsConfig({ enabled: false }),
    // The apps are off, so the toll stream they declare is declared here.
    streams: [tollTransactionsStream()],
    queries: { ...DEFAULT_CONFIG.queries, ...overrides },
  };
  const server = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return { server, dataDir, secret };
}

const sql = (file: string): string => `
  CREATE TABLE tolls (transaction_id VARCHAR(40), plaza_id VARCHAR(16)) WITH ('stream' = 'toll_transactions');
  CREATE TABLE plazas (plaza_id VARCHAR(16), name VARCHAR(64)) WITH ('format' = 'csv', 'path' = '${file}');
  CREATE TABLE named (transaction_id VARCHAR(40), name VARCHAR(64)) WITH ('stream' = 'named_tolls');
  INSERT INTO named SELECT t.transaction_id, p.name FROM tolls t JOIN plazas p ON t.plaza_id = p.plaza_id;`;

async function createQuery(server: RunningServer, name: string, file: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/v1/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, sql: sql(file) }) });
  return { status: res.status, body: await res.json() };
}

/** A request sent with its target exactly as written: fetch would resolve `.` and `..` segments, even %2E ones. */
function rawRequest(port: number, method: string, target: string, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A query on a thread checks its files on the main thread and reads them on the thread: both refuse alike.
describe.each([
  { mode: 'with a query thread', threads: 1 },
  { mode: 'on the main thread', threads: 0 },
])('reference files of continuous queries $mode', ({ threads }) => {
  it('refuses a file outside the reference directory: an absolute path, a .. escape, a symbolic link out of it', async () => {
    const { server, dataDir, secret } = await setup({ threads });
    const allowed = path.join(dataDir, 'reference');
    fs.mkdirSync(allowed, { recursive: true });
    fs.symlinkSync(secret, path.join(allowed, 'innocent.csv'));
    fs.symlinkSync(path.dirname(secret), path.join(allowed, 'outside'));
    const attempts = [secret, '/etc/passwd', '../../secret.csv', `${allowed}/../../secret.csv`, 'innocent.csv', 'outside/secret.csv'];
    for (const [i, file] of attempts.entries()) {
      const answer = await createQuery(server, `steal-${i}`, file);
      expect(answer.status, file).toBe(403);
      expect(answer.body.error).toMatchObject({ code: 'PATH_NOT_ALLOWED', context: { path: file, allowedDir: allowed } });
      expect(answer.body.error.message).toContain(allowed);
    }
    // Nothing was created, so nothing can leak through an output stream.
    const list = (await (await fetch(`${server.url}/v1/queries`)).json()) as { queries: unknown[] };
    expect(list.queries).toEqual([]);
  });

  it('reads a file in the reference directory, named relative to it or by its absolute path', async () => {
    const { server, dataDir } = await setup({ threads });
    const allowed = path.join(dataDir, 'reference');
    fs.mkdirSync(path.join(allowed, 'plazas'));
    fs.writeFileSync(path.join(allowed, 'plazas', 'names.csv'), 'plaza_id,name\nP01,North Gate\n');
    expect((await createQuery(server, 'relative', 'plazas/names.csv')).status).toBe(201);
    expect((await createQuery(server, 'absolute', path.join(allowed, 'plazas', 'names.csv'))).status).toBe(201);
    await server.log.append('toll_transactions', [{ data: Buffer.from(JSON.stringify({ transaction_id: 't-1', plaza_id: 'P01' })), partitionKey: 't-1' }]);
    const rows: string[] = [];
    for (let i = 0; i < 200 && rows.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      rows.length = 0;
      for (const shard of (await server.log.describeStream('named_tolls')).shards) {
        const read = await server.log.read('named_tolls', shard.shardId, { type: 'TRIM_HORIZON' }, { maxRecords: 10 });
        rows.push(...read.records.map((r) => JSON.parse(Buffer.from(r.data).toString('utf8')).name as string));
      }
    }
    expect(rows).toEqual(['North Gate', 'North Gate']);
  });

  it('takes its directory from queries.referenceDir', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-refdir-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'names.csv'), 'plaza_id,name\nP01,North Gate\n');
    const { server, dataDir } = await setup({ referenceDir: dir, threads });
    expect((await createQuery(server, 'configured', 'names.csv')).status).toBe(201);
    fs.writeFileSync(path.join(dataDir, 'names.csv'), 'plaza_id,name\nP01,x\n');
    const refused = await createQuery(server, 'data-dir', path.join(dataDir, 'names.csv'));
    expect(refused.body.error).toMatchObject({ code: 'PATH_NOT_ALLOWED', context: { allowedDir: dir } });
  });

  it('a stored query whose file is no longer inside the directory fails at the next start, saying why', async () => {
    const first = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-refdir-'));
    const second = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-refdir-'));
    cleanups.push(() => fs.rmSync(first, { recursive: true, force: true }), () => fs.rmSync(second, { recursive: true, force: true }));
    fs.writeFileSync(path.join(first, 'names.csv'), 'plaza_id,name\nP01,North Gate\n');
    const before = await setup({ referenceDir: first, threads });
    expect((await createQuery(before.server, 'stored', path.join(first, 'names.csv'))).status).toBe(201);
    await before.server.close();
    const config: TollstreamConfig = {
      ...DEFAULT_CONFIG, dataDir: before.dataDir, port: 0, logging: { level: 'silent', format: 'json' }, warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
      ...spendAlertsConfig({ enabled: false }), ...stationAlertsConfig({ enabled: false }),
      streams: [tollTransactionsStream()],
      queries: { ...DEFAULT_CONFIG.queries, referenceDir: second, threads },
    };
    const after = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
    cleanups.push(() => after.close());
    const info = (await (await fetch(`${after.url}/v1/queries/stored`)).json()) as { state: string; error: { code: string; message: string } };
    expect(info.state).toBe('FAILED');
    expect(info.error.code).toBe('PATH_NOT_ALLOWED');
    expect(info.error.message).toContain(second);
  });
});

describe('reference files uploaded through the API', () => {
  it('a file put through the API is what a query joins to; names that would leave the directory are refused', async () => {
    const { server, dataDir } = await setup();
    const put = await fetch(`${server.url}/v1/reference/files/names.csv`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'plaza_id,name\nP01,North Gate\n' });
    expect(put.status).toBe(200);
    expect(fs.readFileSync(path.join(dataDir, 'reference', 'names.csv'), 'utf8')).toBe('plaza_id,name\nP01,North Gate\n');
    expect((await createQuery(server, 'uploaded', 'names.csv')).status).toBe(201);
    const listed = (await (await fetch(`${server.url}/v1/reference/files`)).json()) as { files: Array<{ name: string; bytes: number }> };
    expect(listed.files).toEqual([expect.objectContaining({ name: 'names.csv', bytes: 29 })]);

    for (const name of ['%2E%2E', '..%2Fescape.csv', '%2Fetc%2Fcron.d%2Fx', '.hidden', 'a%5Cb']) {
      // Sent as is (fetch would resolve a %2E%2E segment before sending it).
      const bad = await rawRequest(server.port, 'PUT', `/v1/reference/files/${name}`, 'x');
      expect(bad.status, name).toBe(400);
      expect(JSON.parse(bad.body).error.code).toBe('INVALID_ARGUMENT');
    }
    expect(fs.readdirSync(path.dirname(dataDir)).sort()).toEqual(['data', 'secret.csv']);
    expect((await fetch(`${server.url}/v1/reference/files/names.csv`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${server.url}/v1/reference/files/names.csv`, { method: 'DELETE' })).status).toBe(404);
  });

  it('tollstream reference put copies a local file there', async () => {
    const { server, dataDir } = await setup();
    const local = path.join(path.dirname(dataDir), 'local-plazas.csv');
    fs.writeFileSync(local, 'plaza_id,name\nP01,North Gate\n');
    const put = await runCli(['reference', 'put', local, '--name', 'plazas.csv', '--endpoint', server.url]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toContain("'path' = 'plazas.csv'");
    expect(fs.readFileSync(path.join(dataDir, 'reference', 'plazas.csv'), 'utf8')).toBe('plaza_id,name\nP01,North Gate\n');
    expect((await createQuery(server, 'from-cli', 'plazas.csv')).status).toBe(201);
  });
});

describe('other paths a request can name', () => {
  it('warehouse SQL cannot read a server file, and a stream name cannot climb out of the streams directory', async () => {
    const { server, secret } = await setup({}, true);
    for (const sqlText of [`SELECT * FROM read_csv('${secret}')`, `SELECT * FROM '${secret}'`, "SELECT * FROM read_text('/etc/passwd')"]) {
      const res = await fetch(`${server.url}/v1/warehouse/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: sqlText }) });
      const text = await res.text();
      expect(res.status, sqlText).toBe(400);
      expect(text).not.toContain('root:x:0:0');
    }
    for (const name of ['..', '.']) {
      const created = await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, shardCount: 1 }) });
      expect(created.status, name).toBe(400);
      const deleted = await rawRequest(server.port, 'DELETE', `/v1/streams/${name === '.' ? '%2E' : '%2E%2E'}`);
      // Only streams that exist can be named, and `.`/`..` can never be created.
      expect(deleted.status, name).toBe(404);
    }
    expect((await server.log.listStreams()).map((s) => s.name)).toContain('toll_transactions');
  });
});
