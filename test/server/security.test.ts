/**
 * What a started server does to keep its data to itself: the data directory and everything written under it
 * are its owner's only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { isTollstreamError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { TrafficGenerator } from '../../src/simulator/index.ts';
import { accessMode } from '../../src/server/exposure.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { waitFor } from '../support/wait.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(dataDir: string, overrides: Partial<TollstreamConfig> = {}): TollstreamConfig {
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  return { ...DEFAULT_CONFIG, dataDir, port: 0, logging: { level: 'silent', format: 'json' }, ...overrides };
}

async function start(cfg: TollstreamConfig, lines: string[] = []): Promise<RunningServer> {
  const server = await startServer(cfg, { apps: SHIPPED_APPS, logger: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
  cleanups.push(() => server.close());
  return server;
}

/** Runs the test under a shell's usual umask (022: new files readable by everyone), as `tollstream up` would start. */
function usualUmask(): void {
  const previous = process.umask(0o022);
  cleanups.push(() => void process.umask(previous));
}

/** Every entry under `dir` (itself included) whose mode lets group or others in, as `path mode`. */
function openToOthers(dir: string): string[] {
  const open: string[] = [];
  const visit = (p: string): void => {
    const st = fs.lstatSync(p);
    if ((st.mode & 0o077) !== 0) open.push(`${path.relative(dir, p) || '.'} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  visit(dir);
  return open;
}

function countFiles(dir: string): number {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

describe('file permissions of the data directory', () => {
  it('a fresh data directory and every file the server writes into it are readable by their owner only', async () => {
    usualUmask();
    const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-perm-')), 'data');
    cleanups.push(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
    const server = await start(config(dataDir));

    // Records (log segments, indexes, dedupe), warehouse rows, a customer and a token (tables), query checkpoints.
    const gen = new TrafficGenerator({ seed: 3, startTime: Date.parse('2026-11-26T06:00:00Z'), customers: 5, plazas: 2, eventsPerSecond: 2 });
    const body = Array.from({ length: 200 }, () => JSON.stringify(gen.next().transaction)).join('\n');
    const put = await fetch(`${server.url}/v1/streams/toll_transactions/records?partitionKeyField=customer_id`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    expect(put.status).toBe(200);
    const created = await fetch(`${server.url}/v1/customers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customer_id: 'C-1', name: 'One', email: 'one@example.com' }) });
    expect(created.status).toBe(201);
    expect((await fetch(`${server.url}/v1/customers/C-1/tokens`, { method: 'POST' })).status).toBe(201);
    await waitFor('the warehouse to hold the records', async () => {
      const r = await server.warehouse!.query('SELECT count(*) AS n FROM toll_transactions');
      return Number(r.rows[0]![0]) > 0;
    });

    expect((fs.statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
    expect(countFiles(dataDir)).toBeGreaterThan(10);
    expect(openToOthers(dataDir)).toEqual([]);
    await server.close();
    expect(openToOthers(dataDir)).toEqual([]);
  });

  it('an existing data directory open to others is restricted to its owner at start, with a log line', async () => {
    usualUmask();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-perm-'));
    fs.chmodSync(dataDir, 0o755);
    const lines: string[] = [];
    await start(config(dataDir, { warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false } }), lines);
    expect((fs.statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).includes('restricted it to its owner'));
    expect(logged).toMatchObject({ dataDir, was: '755', now: '700' });
  });
});

describe('who may reach the server', () => {
  it('refuses to listen beyond loopback with no keys configured, naming the settings, before touching the data directory', async () => {
    const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-open-')), 'data');
    cleanups.push(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      const err = await start(config(dataDir, { host })).catch((e: unknown) => e);
      expect(isTollstreamError(err, 'CONFIG_INVALID')).toBe(true);
      const message = (err as Error).message;
      expect(message).toContain(host);
      expect(message).toContain('auth.apiKeys');
      expect(message).toContain('auth.accessKeys');
      expect(message).toContain('auth.protectedMode');
      expect(message.includes('\n')).toBe(false);
    }
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('starts in local open mode on loopback and says so', async () => {
    const lines: string[] = [];
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-local-'));
    const server = await start(config(dataDir, { host: '127.0.0.1', warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false } }), lines);
    expect(server.access).toBe('local-open');
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.find((l) => l.msg === 'ready')).toMatchObject({ access: 'local-open' });
    expect(logged.some((l) => String(l.msg).startsWith('local open mode'))).toBe(true);
  });
});

describe('a customer token in local mode', () => {
  it('is the customer only: it cannot create a token for another customer nor use the operator and native APIs', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-escalate-'));
    const server = await start(config(dataDir, { warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false } }));
    const call = async (method: string, route: string, token?: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${server.url}${route}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    for (const id of ['C-A', 'C-B']) expect((await call('POST', '/v1/customers', undefined, { customer_id: id, name: id, email: `${id}@example.com` })).status).toBe(201);
    const tokenA = String((await call('POST', '/v1/customers/C-A/tokens')).body.token);
    expect((await call('GET', '/v1/me', tokenA)).body.customer_id).toBe('C-A');

    const escalation = await call('POST', '/v1/customers/C-B/tokens', tokenA);
    expect(escalation.status).toBe(403);
    expect(escalation.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(escalation.body.token).toBeUndefined();
    expect((await call('GET', '/v1/customers/C-B', tokenA)).status).toBe(403);
    expect((await call('GET', '/v1/streams', tokenA)).status).toBe(403);
    expect((await call('DELETE', '/v1/streams/toll_transactions', tokenA)).status).toBe(403);
    expect((await call('GET', '/v1/operator/subscriptions', tokenA)).status).toBe(403);
    expect((await server.log.listStreams()).map((s) => s.name)).toContain('toll_transactions');
    // The token still works where it belongs.
    expect((await call('GET', '/v1/me', tokenA)).status).toBe(200);
  });
});

describe('accessMode', () => {
  const withAuth = (host: string, auth: Partial<TollstreamConfig['auth']>): TollstreamConfig => ({ ...DEFAULT_CONFIG, host, auth: { ...DEFAULT_CONFIG.auth, ...auth } });
  const keys = { apiKeys: [`sha256:${'a'.repeat(64)}`], accessKeys: [{ accessKeyId: 'AKID', secretAccessKey: 'secret' }] };

  it('is local open mode on every loopback address without keys', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(accessMode(withAuth(host, {}))).toBe('local-open');
  });

  it('needs both kinds of keys beyond loopback, and names the one missing', () => {
    expect(accessMode(withAuth('0.0.0.0', keys))).toBe('keys-required');
    expect(accessMode(withAuth('127.0.0.1', keys))).toBe('keys-required');
    expect(() => accessMode(withAuth('0.0.0.0', { apiKeys: keys.apiKeys }))).toThrow(/no auth\.accessKeys:/);
    expect(() => accessMode(withAuth('10.1.2.3', { accessKeys: keys.accessKeys }))).toThrow(/no auth\.apiKeys:/);
    expect(() => accessMode(withAuth('localhost.example.com', {}))).toThrow(/no auth\.apiKeys and no auth\.accessKeys/);
  });

  it('lets an open server on the network only with auth.protectedMode: false', () => {
    expect(accessMode(withAuth('0.0.0.0', { protectedMode: false }))).toBe('open-network');
  });
});
