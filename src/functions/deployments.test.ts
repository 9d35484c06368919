/**
 * FunctionDeployments: versions that take over at a checkpoint, pause and resume, definitions that come back
 * after a restart (and are refused when damaged), modules that do not load, and the config file's functions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { openNotify } from '../notify/index.ts';
import { openTables, sqliteTableStore, type Tables } from '../tables/index.ts';
import { FunctionDeployments, FunctionLogs, FunctionsRuntime } from './index.ts';

const encoder = new TextEncoder();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Counts each record under its key and under the version that processed it. */
const counting = (version: string, prefix = '') => `
export const tables = ['counts'];
export function handler(event, ctx) {
  ctx.transact((tx) => {
    for (const r of event.records) {
      tx.update('counts', { pk: '${prefix}' + r.partitionKey }, { add: { count: 1 } });
      tx.update('counts', { pk: 'version:${version}' }, { add: { count: 1 } });
    }
  });
}`;

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-deploy-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
  await log.createStream('events', { shardCount: 2 });
  const tablesPath = path.join(dir, 'tables.db');
  let tables = openTables({ path: tablesPath });
  let runtime: FunctionsRuntime;
  let deployments: FunctionDeployments;
  const open = async () => {
    const logs = new FunctionLogs();
    runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    deployments = new FunctionDeployments({ dir: path.join(dir, 'functions'), tablesPath, tables, runtime, logs });
    await deployments.open();
    return deployments;
  };
  const close = async () => {
    await deployments.close();
    await runtime.stop();
  };
  cleanups.push(async () => {
    await close();
    tables.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    log,
    tables: () => tables,
    open,
    /** Stops everything and opens it again on the same files, as a restart does. */
    async restart() {
      await close();
      tables.close();
      tables = openTables({ path: tablesPath });
      return open();
    },
  };
}

async function put(log: StreamLog, count: number, from = 0) {
  await log.append('events', Array.from({ length: count }, (_, i) => ({ partitionKey: `k${(from + i) % 5}`, data: encoder.encode(String(from + i)) })));
}

const count = (tables: Tables, pk: string) => (tables.get('counts', { pk })?.value.count as number | undefined) ?? 0;
const total = (tables: Tables) => [0, 1, 2, 3, 4].reduce((n, k) => n + count(tables, `k${k}`), 0);

async function until(check: () => boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('FunctionDeployments', () => {
  it('updates to a new version that starts at the old one\'s checkpoint: every record once, the later ones by the new version', async () => {
    const env = await setup();
    const deployments = await env.open();
    const info = await deployments.deploy({ name: 'count', stream: 'events', code: counting('1'), settings: { startingPosition: 'TRIM_HORIZON', batchSize: 3 } });
    expect(info).toMatchObject({ name: 'count', state: 'running', version: 1, settings: { batchSize: 3 } });
    await put(env.log, 200);
    await until(() => total(env.tables()) >= 50, 'the first version to be under way');
    const updated = await deployments.update('count', { code: counting('2'), settings: { batchSize: 10 } });
    expect(updated).toMatchObject({ version: 2, settings: { startingPosition: 'TRIM_HORIZON', batchSize: 10 } });
    await put(env.log, 100, 200);
    await until(() => total(env.tables()) >= 300, 'every record');
    const tables = env.tables();
    expect(total(tables)).toBe(300);
    expect(count(tables, 'version:1') + count(tables, 'version:2')).toBe(300);
    expect(count(tables, 'version:2')).toBeGreaterThanOrEqual(100);
    expect(fs.readdirSync(path.join(env.dir, 'functions', 'count'))).toEqual(['v2.mjs']);
  });

  it('pauses and resumes, and definitions, versions and pauses come back after a restart', async () => {
    const env = await setup();
    let deployments = await env.open();
    await deployments.deploy({ name: 'count', stream: 'events', code: counting('1'), settings: { startingPosition: 'TRIM_HORIZON' } });
    await deployments.deploy({ name: 'idle', stream: 'events', code: counting('idle', 'idle-'), settings: { timeoutSeconds: 5 } });
    await deployments.update('idle', { settings: { memoryMiB: 64 } });
    expect((await deployments.pause('count')).state).toBe('paused');
    await put(env.log, 20);
    await until(() => deployments.describe('idle').stats?.recordsProcessed === 20, 'the other function');
    expect(total(env.tables())).toBe(0);

    deployments = await env.restart();
    expect(deployments.list().map((f) => [f.name, f.state, f.version, f.settings])).toEqual([
      ['count', 'paused', 1, { startingPosition: 'TRIM_HORIZON' }],
      ['idle', 'running', 2, { timeoutSeconds: 5, memoryMiB: 64 }],
    ]);
    expect((await deployments.resume('count')).state).toBe('running');
    await until(() => total(env.tables()) === 20, 'the resumed function');
    await deployments.delete('count');
    expect(deployments.list().map((f) => f.name)).toEqual(['idle']);
    expect(env.tables().listCheckpoints('function:count')).toEqual([]);
    expect(() => deployments.logs('count')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => deployments.describe('count')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('rolls back a transaction whose table call failed, also in a handler that does not await its calls', async () => {
    const env = await setup();
    const deployments = await env.open();
    // Written as handlers were while transact was synchronous: the failing put is neither awaited nor caught.
    const code = `export const tables = ['counts'];
export function handler(event, ctx) {
  ctx.transact((tx) => {
    tx.update('counts', { pk: 'applied' }, { add: { count: event.records.length } });
    tx.put('counts', { pk: 'guard' }, {}, { condition: { item: 'present' } });
  });
}`;
    await deployments.deploy({ name: 'guarded', stream: 'events', code, settings: { startingPosition: 'TRIM_HORIZON', retryBaseDelayMs: 10 } });
    await put(env.log, 2);
    await until(() => (deployments.describe('guarded').stats?.errors ?? 0) >= 2, 'two failed invocations');
    expect(deployments.describe('guarded').lastFailure?.message).toMatch(/condition/i);
    expect(env.tables().get('counts', { pk: 'applied' })).toBeUndefined();
  });

  it('refuses a module that does not load, a taken name and bad settings, storing nothing', async () => {
    const env = await setup();
    const deployments = await env.open();
    await expect(deployments.deploy({ name: 'none', stream: 'events', code: 'export const x = 1;' })).rejects.toMatchObject({ code: 'FUNCTION_CODE_INVALID' });
    await expect(deployments.deploy({ name: 'broken', stream: 'events', code: 'export function handler( {' })).rejects.toMatchObject({ code: 'FUNCTION_CODE_INVALID' });
    await expect(deployments.deploy({ name: 'lost', stream: 'nowhere', code: counting('1') })).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    await expect(deployments.deploy({ name: 'big', stream: 'events', code: counting('1'), settings: { batchSize: 0 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', context: { key: 'batchSize' } });
    await expect(deployments.deploy({ name: 'slow', stream: 'events', code: counting('1'), settings: { timeoutSeconds: 901 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', context: { field: 'timeoutSeconds' } });
    expect(deployments.list()).toEqual([]);
    expect(fs.readdirSync(path.join(env.dir, 'functions'))).toEqual([]);
    await deployments.deploy({ name: 'count', stream: 'events', code: counting('1') });
    await expect(deployments.deploy({ name: 'count', stream: 'events', code: counting('1') })).rejects.toMatchObject({ code: 'FUNCTION_EXISTS' });
    // An update whose module does not load leaves the running version alone.
    await expect(deployments.update('count', { code: 'export default 42;' })).rejects.toMatchObject({ code: 'FUNCTION_CODE_INVALID' });
    expect(deployments.describe('count')).toMatchObject({ state: 'running', version: 1 });
  });

  it('refuses damaged definitions at open, and a damaged module fails only its function', async () => {
    const env = await setup();
    let deployments = await env.open();
    await deployments.deploy({ name: 'count', stream: 'events', code: counting('1'), settings: { startingPosition: 'TRIM_HORIZON' } });
    await deployments.deploy({ name: 'other', stream: 'events', code: counting('other'), settings: { startingPosition: 'TRIM_HORIZON' } });
    const module = path.join(env.dir, 'functions', 'count', 'v1.mjs');
    fs.appendFileSync(module, '\n// changed on disk\n');
    deployments = await env.restart();
    expect(deployments.describe('count')).toMatchObject({ state: 'failed', startError: expect.stringContaining('damaged') });
    expect(deployments.describe('other').state).toBe('running');

    const definitions = path.join(env.dir, 'functions', 'definitions');
    const bytes = fs.readFileSync(definitions);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
    fs.writeFileSync(definitions, bytes);
    await expect(env.restart()).rejects.toMatchObject({ code: 'STATE_CORRUPT', context: { file: definitions } });
  });

  it('makes the config file\'s functions run as declared: deploys, updates, deletes, and leaves API ones alone', async () => {
    const env = await setup();
    const deployments = await env.open();
    await deployments.deploy({ name: 'api', stream: 'events', code: counting('api') });
    const declared = (code: string, settings = {}) => ({ name: 'declared', stream: 'events', handler: 'declared.ts', code, settings });
    await deployments.reconcile([declared(counting('1'), { batchSize: 5 })]);
    expect(deployments.describe('declared')).toMatchObject({ version: 1, source: 'config', settings: { batchSize: 5 } });
    await deployments.reconcile([declared(counting('1'), { batchSize: 5 })]);
    expect(deployments.describe('declared').version).toBe(1);
    await deployments.reconcile([declared(counting('1'), { timeoutSeconds: 10 })]);
    expect(deployments.describe('declared')).toMatchObject({ version: 2, settings: { timeoutSeconds: 10 } });
    await deployments.reconcile([declared(counting('2'), { timeoutSeconds: 10 })]);
    expect(deployments.describe('declared').version).toBe(3);
    await expect(deployments.reconcile([{ ...declared(counting('1')), name: 'api' }])).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await deployments.reconcile([]);
    expect(deployments.list().map((f) => f.name)).toEqual(['api']);
  });

  it('delivers what a handler publishes from its worker, woken by the commit rather than the next poll', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-publish-'));
    const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
    await log.createStream('events', { shardCount: 1 });
    const tablesPath = path.join(dir, 'tables.db');
    const tables = openTables({ path: tablesPath });
    // A poll far longer than the test: only the wake can make the entry appear in time.
    const notify = openNotify({ tables, pollIntervalMs: 3_600_000 });
    notify.createTopic('greetings', { kind: 'inbox' });
    notify.subscribe('greetings', { protocol: 'inbox', customerId: 'C1' });
    notify.start();
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    const deployments = new FunctionDeployments({ dir: path.join(dir, 'functions'), tablesPath, tables, runtime, logs: new FunctionLogs(), onCommit: () => notify.wake() });
    await deployments.open();
    cleanups.push(async () => {
      await deployments.close();
      await runtime.stop();
      await notify.stop();
      tables.close();
      await log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const code = `export function handler(event, ctx) {
      ctx.transact((tx) => { for (const r of event.records) tx.publish('greetings', { customer_id: 'C1', text: r.text() }, { idempotencyKey: 'greet-' + r.sequenceNumber }); });
    }`;
    await deployments.deploy({ name: 'greeter', stream: 'events', code, settings: { startingPosition: 'TRIM_HORIZON' } });
    await log.append('events', [{ partitionKey: 'a', data: encoder.encode('hello') }, { partitionKey: 'a', data: encoder.encode('again') }]);
    await until(() => notify.listInbox('C1').length === 2, 'both notifications in the inbox', 20_000);
    expect(notify.listInbox('C1').map((e) => e.message.text).sort()).toEqual(['again', 'hello']);
  });
});
