import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import { envName, lakeDir, loadConfig, warehousePath } from './index.ts';

function tempDir(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-config-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('loadConfig', () => {
  it('uses the defaults when nothing is set', async () => {
    const cwd = tempDir();
    const config = await loadConfig({ cwd, env: {} });
    expect(config.port).toBe(4566);
    expect(config.storage.fsync).toBe('always');
    expect(config.dataDir).toBe(path.join(cwd, 'data'));
  });

  it('layers file, then environment, then flags', async () => {
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ port: 5000, host: '0.0.0.0', logging: { level: 'warn' } }) });
    const config = await loadConfig({ cwd, env: { TOLLSTREAM_PORT: '5001', TOLLSTREAM_LOGGING_LEVEL: 'debug' }, flags: { port: '5002' } });
    expect(config.port).toBe(5002);
    expect(config.host).toBe('0.0.0.0');
    expect(config.logging.level).toBe('debug');
    expect(config.logging.format).toBe('json');
  });

  it('reads a TypeScript config file', async () => {
    const cwd = tempDir({ 'tollstream.config.ts': 'export default { port: 4999 as number, storage: { segmentBytes: 1048576 } };\n' });
    const config = await loadConfig({ cwd, env: {} });
    expect(config.port).toBe(4999);
    expect(config.storage.segmentBytes).toBe(1048576);
    expect(config.storage.indexIntervalBytes).toBe(4096);
  });

  it('names an unknown key in the file', async () => {
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ storage: { fsynk: 'always' } }) });
    await expect(loadConfig({ cwd, env: {} })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { key: 'storage.fsynk' } });
  });

  it('names an unknown environment variable', async () => {
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_PROT: '1' } })).rejects.toThrow(/TOLLSTREAM_PROT/);
  });

  it('rejects ill-typed values with the key and the source', async () => {
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_PORT: 'eighty' } })).rejects.toThrow(/port must be an integer.*TOLLSTREAM_PORT/);
    await expect(loadConfig({ cwd: tempDir(), env: {}, flags: { 'storage.fsync': 'sometimes' } })).rejects.toThrow(/storage.fsync must be one of/);
  });

  it('reads the cluster section from variables, with 3 replicas unless set', async () => {
    const env = {
      TOLLSTREAM_CLUSTER_NATS_SERVERS: '["nats://10.0.0.1:4222","nats://10.0.0.2:4222"]',
      TOLLSTREAM_CLUSTER_POSTGRES_URL: 'postgres://ts:pw@10.0.0.9:5432/tollstream',
      TOLLSTREAM_CLUSTER_NODE_NAME: 'node-a',
    };
    const config = await loadConfig({ cwd: tempDir(), env });
    expect(config.cluster).toEqual({ natsServers: ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222'], postgresUrl: 'postgres://ts:pw@10.0.0.9:5432/tollstream', nodeName: 'node-a', replicas: 3, leaseMs: 10_000, leaseRenewMs: 3000 });
    const one = await loadConfig({ cwd: tempDir(), env: { ...env, TOLLSTREAM_CLUSTER_REPLICAS: '1' } });
    expect(one.cluster?.replicas).toBe(1);
    expect((await loadConfig({ cwd: tempDir(), env: {} })).cluster).toBeUndefined();
  });

  it('asks a cluster node with the lake for the folder the nodes share', async () => {
    const env = {
      TOLLSTREAM_CLUSTER_NATS_SERVERS: '["nats://10.0.0.1:4222"]',
      TOLLSTREAM_CLUSTER_POSTGRES_URL: 'postgres://ts:pw@10.0.0.9:5432/tollstream',
      TOLLSTREAM_CLUSTER_NODE_NAME: 'node-a',
      TOLLSTREAM_LAKE_ENABLED: 'true',
    };
    await expect(loadConfig({ cwd: tempDir(), env })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { key: 'lake.dir' } });
    const config = await loadConfig({ cwd: tempDir(), env: { ...env, TOLLSTREAM_LAKE_DIR: '/mnt/lake' } });
    expect(lakeDir(config)).toBe('/mnt/lake');
  });

  it('names the missing or ill-typed key of the cluster section', async () => {
    const file = (cluster: unknown) => tempDir({ 'tollstream.config.json': JSON.stringify({ cluster }) });
    await expect(loadConfig({ cwd: file({ natsServers: ['nats://127.0.0.1:4222'], nodeName: 'a' }), env: {} })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      context: { key: 'cluster.postgresUrl' },
    });
    await expect(loadConfig({ cwd: file({ natsServers: 'nats://127.0.0.1:4222' }), env: {} })).rejects.toThrow(/cluster.natsServers must be a non-empty array of NATS URLs/);
    await expect(loadConfig({ cwd: file({ natsServers: ['http://x:1'] }), env: {} })).rejects.toThrow(/cluster.natsServers\[0\] must be a URL like nats:/);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_CLUSTER_REPLICAS: '7' } })).rejects.toThrow(/cluster.replicas must be an integer from 1 to 5/);
    await expect(loadConfig({ cwd: file({ nodeName: 'has space' }), env: {} })).rejects.toThrow(/cluster.nodeName must be 1 to 64 letters/);
    await expect(loadConfig({ cwd: file({ natsServer: [] }), env: {} })).rejects.toMatchObject({ context: { key: 'cluster.natsServer' } });
  });

  it('reads the lease timings of the cluster section and refuses renewals too rare for the lease', async () => {
    const env = {
      TOLLSTREAM_CLUSTER_NATS_SERVERS: '["nats://10.0.0.1:4222"]',
      TOLLSTREAM_CLUSTER_POSTGRES_URL: 'postgres://ts:pw@10.0.0.9:5432/tollstream',
      TOLLSTREAM_CLUSTER_NODE_NAME: 'node-a',
    };
    const set = await loadConfig({ cwd: tempDir(), env: { ...env, TOLLSTREAM_CLUSTER_LEASE_MS: '6000', TOLLSTREAM_CLUSTER_LEASE_RENEW_MS: '2000' } });
    expect(set.cluster).toMatchObject({ leaseMs: 6000, leaseRenewMs: 2000 });
    await expect(loadConfig({ cwd: tempDir(), env: { ...env, TOLLSTREAM_CLUSTER_LEASE_MS: '6000' } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      context: { key: 'cluster.leaseMs' },
      message: expect.stringMatching(/cluster.leaseRenewMs \(3000\) must be at most a third of cluster.leaseMs \(6000\)/),
    });
    await expect(loadConfig({ cwd: tempDir(), env: { ...env, TOLLSTREAM_CLUSTER_LEASE_RENEW_MS: '4000' } })).rejects.toMatchObject({ context: { key: 'cluster.leaseRenewMs' } });
    await expect(loadConfig({ cwd: tempDir(), env: { ...env, TOLLSTREAM_CLUSTER_LEASE_MS: '100' } })).rejects.toThrow(/cluster.leaseMs must be an integer from 300 to 600000/);
  });

  it('rejects conflicting options', async () => {
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_STORAGE_FSYNC_INTERVAL_MS: '50' } })).rejects.toThrow(
      /storage.fsyncIntervalMs conflicts with storage.fsync 'always'/,
    );
    const ok = await loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_STORAGE_FSYNC: 'interval', TOLLSTREAM_STORAGE_FSYNC_INTERVAL_MS: '50' } });
    expect(ok.storage.fsyncIntervalMs).toBe(50);
  });

  it('refuses two config files at once', async () => {
    const cwd = tempDir({ 'tollstream.config.json': '{}', 'tollstream.config.ts': 'export default {};' });
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/keep one/);
  });

  it('checks declared streams', async () => {
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ streams: [{ name: 'a', dedupe: { mode: 'field' } }] }) });
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/streams\[0\]\.dedupe\.field .*is required/);
  });

  it("checks declared streams by the log's own limits, so a stream the config takes is one the log creates", async () => {
    const refused = async (stream: Record<string, unknown>) => {
      const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ streams: [{ name: 'ok' }, stream] }) });
      const err = await loadConfig({ cwd, env: {} }).then(() => undefined, (e: unknown) => e);
      expect(isTollstreamError(err) && err.code).toBe('CONFIG_INVALID');
      return (err as Error).message;
    };
    expect(await refused({ name: 'tolls', retentionHours: 100_000 })).toMatch(/^streams\[1\]\.retentionHours must be an integer from 1 to 87600, got 100000/);
    expect(await refused({ name: 'tolls', shardCount: 1025 })).toMatch(/^streams\[1\]\.shardCount 1025 is above the limit/);
    expect(await refused({ name: 'tolls', dedupe: { mode: 'key', windowSeconds: 0 } })).toMatch(/^streams\[1\]\.dedupe\.windowSeconds must be a positive integer/);
    expect(await refused({ name: 'tolls', dedupe: { mode: 'key', window: 60 } })).toMatch(/^streams\[1\]\.dedupe has unknown key 'window'/);
    expect(await refused({ name: '..' })).toMatch(/^streams\[1\]\.name: stream name '\.\.' must be/);
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ streams: [{ name: 'tolls', retentionHours: 87_600, shardCount: 1024 }] }) });
    const config = await loadConfig({ cwd, env: {} });
    expect(config.streams[0]).toMatchObject({ name: 'tolls', retentionHours: 87_600, shardCount: 1024 });
  });

  it('checks declared functions with the functions\' own rules, and resolves their handlers from the working directory', async () => {
    const entry = { name: 'totals', stream: 'tolls', handler: './fn/totals.ts', batchSize: 500, timeoutSeconds: 10 };
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ functions: { deploy: [entry] } }) });
    const config = await loadConfig({ cwd, env: {} });
    expect(config.functions.deploy).toEqual([{ ...entry, handler: path.join(cwd, 'fn/totals.ts') }]);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_FUNCTIONS_DEPLOY: JSON.stringify([{ ...entry, batchSize: 0 }]) } })).rejects.toThrow(
      /functions.deploy.*\[0\].*batchSize must be an integer from 1 to 10000/,
    );
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_FUNCTIONS_DEPLOY: JSON.stringify([{ ...entry, memoryMB: 64 }]) } })).rejects.toThrow(/unknown setting 'memoryMB'/);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_FUNCTIONS_DEPLOY: JSON.stringify([entry, entry]) } })).rejects.toThrow(/declares function 'totals' twice/);
  });

  it('takes app modules as a list of paths, from the file or the environment, and refuses anything else', async () => {
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ apps: ['./apps/visits.ts'] }) });
    expect((await loadConfig({ cwd, env: {} })).apps).toEqual(['./apps/visits.ts']);
    expect((await loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_APPS: '["a.mjs","b.mjs"]' } })).apps).toEqual(['a.mjs', 'b.mjs']);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_APPS: '"a.mjs"' } })).rejects.toThrow(/apps must be an array of module paths/);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_APPS: '["a.mjs", ""]' } })).rejects.toThrow(/apps\[1\] must be the path of an app module/);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_APPS: '["a.mjs","a.mjs"]' } })).rejects.toThrow(/apps\[1\] names the module 'a.mjs' twice/);
  });

  it("takes the notifications' retry schedule from the file and the environment, defaulting to 8 attempts from 1 s", async () => {
    expect((await loadConfig({ cwd: tempDir(), env: {} })).notify.retry).toEqual({ maxAttempts: 8, baseDelayMs: 1000 });
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ notify: { retry: { maxAttempts: 3 } } }) });
    expect((await loadConfig({ cwd, env: { TOLLSTREAM_NOTIFY_RETRY_BASE_DELAY_MS: '50' } })).notify.retry).toEqual({ maxAttempts: 3, baseDelayMs: 50 });
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_NOTIFY_RETRY_MAX_ATTEMPTS: '0' } })).rejects.toThrow(/^notify.retry.maxAttempts must be an integer from 1 to 100, got 0 \(environment variable TOLLSTREAM_NOTIFY_RETRY_MAX_ATTEMPTS\)/);
    await expect(loadConfig({ cwd: tempDir(), env: {}, flags: { 'notify.retry.baseDelayMs': '300001' } })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { key: 'notify.retry.baseDelayMs' } });
    await expect(loadConfig({ cwd: tempDir({ 'tollstream.config.json': JSON.stringify({ notify: { retry: { maxDelayMs: 10 } } }) }), env: {} })).rejects.toMatchObject({ context: { key: 'notify.retry.maxDelayMs' } });
  });

  it('maps keys to environment variable names', () => {
    expect(envName('storage.fsyncIntervalMs')).toBe('TOLLSTREAM_STORAGE_FSYNC_INTERVAL_MS');
    expect(envName('dataDir')).toBe('TOLLSTREAM_DATA_DIR');
    expect(envName('delivery.bufferSizeMiB')).toBe('TOLLSTREAM_DELIVERY_BUFFER_SIZE_MIB');
  });
});

describe('warehouse, delivery and lake settings', () => {
  it('defaults to a warehouse in the data directory, delivering toll_transactions every second, no lake', async () => {
    const cwd = tempDir();
    const config = await loadConfig({ cwd, env: {} });
    expect(config.warehouse.enabled).toBe(true);
    expect(warehousePath(config)).toBe(path.join(cwd, 'data', 'warehouse.duckdb'));
    expect(config.delivery).toEqual({ stream: 'toll_transactions', bufferSizeMiB: 4, bufferIntervalSeconds: 1 });
    expect(config.lake.enabled).toBe(false);
    expect(lakeDir(config)).toBe(path.join(cwd, 'data', 'lake'));
  });

  it('reads them from a file and the environment, paths relative to the working directory', async () => {
    const cwd = tempDir({
      'tollstream.config.json': JSON.stringify({ warehouse: { path: 'w/main.duckdb' }, lake: { enabled: true, dir: 'parquet' } }),
    });
    const config = await loadConfig({ cwd, env: { TOLLSTREAM_DELIVERY_BUFFER_SIZE_MIB: '16', TOLLSTREAM_DELIVERY_BUFFER_INTERVAL_SECONDS: '0', TOLLSTREAM_LAKE_ENABLED: 'true' } });
    expect(warehousePath(config)).toBe(path.join(cwd, 'w/main.duckdb'));
    expect(lakeDir(config)).toBe(path.join(cwd, 'parquet'));
    expect(config.delivery.bufferSizeMiB).toBe(16);
    expect(config.delivery.bufferIntervalSeconds).toBe(0);
  });

  it('checks ranges and booleans, naming the key', async () => {
    await expect(loadConfig({ cwd: tempDir(), env: {}, flags: { 'delivery.bufferSizeMiB': '129' } })).rejects.toThrow(/delivery.bufferSizeMiB must be an integer from 1 to 128/);
    await expect(loadConfig({ cwd: tempDir(), env: {}, flags: { 'delivery.bufferIntervalSeconds': 901 } })).rejects.toThrow(/from 0 to 900/);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_WAREHOUSE_ENABLED: 'yes' } })).rejects.toThrow(/warehouse.enabled must be true or false/);
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ warehouse: { enabled: 'no' } }) });
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/warehouse.enabled must be true or false/);
  });

  it('rejects unknown keys in the new sections', async () => {
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ delivery: { bufferSize: 4 } }) });
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/unknown config key 'delivery.bufferSize'/);
  });

  it('rejects settings of a part that is switched off', async () => {
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_LAKE_DIR: '/tmp/lake' } })).rejects.toThrow(/lake.dir conflicts with lake.enabled false/);
  });
});

describe('lake and BI settings', () => {
  it('default to 128 MiB lake files, a 300 s wait, a pass a minute; no BI port', async () => {
    const config = await loadConfig({ cwd: tempDir(), env: {} });
    expect(config.lake).toEqual({ enabled: false, targetFileMiB: 128, maxWaitSeconds: 300, compactionIntervalSeconds: 60 });
    expect(config.bi).toEqual({ enabled: false, host: '127.0.0.1', port: 5433, user: 'tollstream', maxConnections: 64 });
  });

  it('take the BI password from the environment, and refuse the port without one, over PostgreSQL, or a short password', async () => {
    const config = await loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_BI_ENABLED: 'true', TOLLSTREAM_BI_PASSWORD: 'long enough secret' } });
    expect(config.bi).toMatchObject({ enabled: true, password: 'long enough secret' });
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_BI_ENABLED: 'true' } })).rejects.toThrow(/bi.enabled needs bi.password/);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_BI_ENABLED: 'true', TOLLSTREAM_BI_PASSWORD: 'short' } })).rejects.toThrow(/bi.password must be 12 characters or more/);
    await expect(
      loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_BI_ENABLED: 'true', TOLLSTREAM_BI_PASSWORD: 'long enough secret', TOLLSTREAM_WAREHOUSE_KIND: 'postgres', TOLLSTREAM_WAREHOUSE_POSTGRES_URL: 'postgres://u:p@h/d' } }),
    ).rejects.toThrow(/bi.enabled conflicts with warehouse.kind 'postgres'/);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_LAKE_TARGET_FILE_MIB: '64' } })).rejects.toThrow(/lake.targetFileMiB conflicts with lake.enabled false/);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_LAKE_ENABLED: 'true', TOLLSTREAM_LAKE_TARGET_FILE_MIB: '2048' } })).rejects.toThrow(/lake.targetFileMiB/);
  });
});

describe("an app's config section", () => {
  const section = {
    name: 'lanes',
    settings: { enabled: { type: 'boolean' }, maxLanes: { type: 'integer', min: 1, max: 16 }, 'label.prefix': { type: 'string' } },
    defaults: { enabled: true, maxLanes: 4 },
  } as const;

  it('is layered like the platform: defaults, file, environment, flags; the modules of `apps` reach the caller first', async () => {
    const cwd = tempDir({ 'tollstream.config.json': JSON.stringify({ apps: ['./lanes.ts'], lanes: { maxLanes: 8, label: { prefix: 'L' } } }) });
    const asked: string[][] = [];
    const config = await loadConfig({ cwd, env: { TOLLSTREAM_LANES_ENABLED: 'false' }, flags: { 'lanes.maxLanes': '9' }, sections: (modules) => (asked.push([...modules]), [section]) });
    expect(asked).toEqual([['./lanes.ts']]);
    expect((config as unknown as Record<string, unknown>).lanes).toEqual({ enabled: false, maxLanes: 9, label: { prefix: 'L' } });
    expect(envName('lanes.maxLanes')).toBe('TOLLSTREAM_LANES_MAX_LANES');
  });

  it('checks its values with the same messages as the platform, and refuses keys it does not declare', async () => {
    const sections = () => [section];
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_LANES_MAX_LANES: '17' }, sections })).rejects.toThrow("lanes.maxLanes must be an integer from 1 to 16, got 17 (environment variable TOLLSTREAM_LANES_MAX_LANES)");
    await expect(loadConfig({ cwd: tempDir({ 'tollstream.config.json': '{"lanes":{"maxLane":3}}' }), env: {}, sections })).rejects.toThrow("unknown config key 'lanes.maxLane'");
    await expect(loadConfig({ cwd: tempDir({ 'tollstream.config.json': '{"lanes":{"enabled":false}}' }), env: {} })).rejects.toThrow("unknown config key 'lanes'");
  });

  it('refuses a requiresEnabled pair that names no setting of the section, or a switch that is no boolean', async () => {
    const declared = (requiresEnabled: ReadonlyArray<readonly [string, string]>) => () => [{ ...section, requiresEnabled }];
    await expect(loadConfig({ cwd: tempDir(), env: {}, sections: declared([['lanes.maxLane', 'lanes.enabled']]) })).rejects.toSatisfy(
      (err) => isTollstreamError(err, 'CONFIG_INVALID') && err.message === "the config section 'lanes' makes 'lanes.maxLane' require 'lanes.enabled', but declares no setting 'lanes.maxLane'",
    );
    await expect(loadConfig({ cwd: tempDir(), env: {}, sections: declared([['lanes.maxLanes', 'lanes.enable']]) })).rejects.toThrow(
      "the config section 'lanes' makes 'lanes.maxLanes' require 'lanes.enable', which is no boolean setting of the section or the platform",
    );
    await expect(loadConfig({ cwd: tempDir(), env: {}, sections: declared([['lanes.maxLanes', 'warehouse.enable']]) })).rejects.toThrow(/require 'warehouse.enable', which is no boolean setting/);
    await expect(loadConfig({ cwd: tempDir(), env: {}, sections: declared([['lanes.maxLanes', 'port']]) })).rejects.toThrow(/require 'port', which is no boolean setting/);
    // A platform setting is not the section's to constrain.
    await expect(loadConfig({ cwd: tempDir(), env: {}, sections: declared([['lake.dir', 'lanes.enabled']]) })).rejects.toThrow(/declares no setting 'lake.dir'/);
    // Right pairs, on the section's own switch and on the platform's, are kept and enforced.
    const sections = declared([['lanes.maxLanes', 'lanes.enabled'], ['lanes.label.prefix', 'warehouse.enabled']]);
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_LANES_ENABLED: 'false', TOLLSTREAM_LANES_MAX_LANES: '3' }, sections })).rejects.toThrow('lanes.maxLanes conflicts with lanes.enabled false');
    await expect(loadConfig({ cwd: tempDir(), env: { TOLLSTREAM_WAREHOUSE_ENABLED: 'false', TOLLSTREAM_LANES_LABEL_PREFIX: 'L' }, sections })).rejects.toThrow('lanes.label.prefix conflicts with warehouse.enabled false');
  });

  it("may not take a platform section's name, another app's, or a setting's environment variable", async () => {
    await expect(loadConfig({ cwd: tempDir(), env: {}, sections: () => [{ ...section, name: 'storage' }] })).rejects.toThrow("config section 'storage' is a section of the platform's settings");
    await expect(loadConfig({ cwd: tempDir(), env: {}, sections: () => [section, section] })).rejects.toThrow("two apps declare the config section 'lanes'");
    const clash = { name: 'httpHeaders', settings: { timeoutMs: { type: 'integer', min: 1, max: 10 } }, defaults: {} } as const;
    await expect(loadConfig({ cwd: tempDir(), env: {}, sections: () => [clash] })).rejects.toThrow(
      "the settings 'http.headersTimeoutMs' and 'httpHeaders.timeoutMs' would both be set by TOLLSTREAM_HTTP_HEADERS_TIMEOUT_MS",
    );
  });
});
