import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KinesisClient, ListStreamsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../app-contract/index.ts';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../config/index.ts';
import { isTollstreamError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { startServer, type RunningServer } from './index.ts';
import { lanesApp } from '../../test/support/lanes-app.ts';
import { tollDataApp } from '../../test/support/toll-data-app.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(overrides: Partial<TollstreamConfig> = {}): TollstreamConfig {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-server-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  return { ...DEFAULT_CONFIG, dataDir, port: 0, logging: { level: 'silent', format: 'json' }, ...overrides };
}

/** Starts a server with `apps`: by default one that declares the toll stream and its table. */
async function start(cfg: TollstreamConfig, lines?: string[], apps: readonly App[] = [tollDataApp]): Promise<RunningServer> {
  const logger = createLogger({ level: 'info', write: (l) => lines?.push(l) });
  const server = await startServer(cfg, { logger, apps });
  cleanups.push(() => server.close());
  return server;
}

describe('startServer', () => {
  it('serves on the URL it reports, logs one ready line and creates the declared streams', async () => {
    const lines: string[] = [];
    const cfg = config({ streams: [{ name: 'toll_transactions', shardCount: 2 }, { name: 'alerts', shardCount: 1, retentionHours: 72 }] });
    const server = await start(cfg, lines);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const ready = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'ready');
    expect(ready).toHaveLength(1);
    expect(ready[0]!.url).toBe(server.url);
    const alerts = await server.log.describeStream('alerts');
    expect(alerts.openShardCount).toBe(1);
    expect(alerts.retentionHours).toBe(72);
    expect((await server.log.describeStream('toll_transactions')).openShardCount).toBe(2);
  });

  it('refuses a second server on the same data directory, and allows one after close', async () => {
    const cfg = config();
    const first = await start(cfg);
    const err = await startServer(cfg, { logger: createLogger({ level: 'silent' }) }).catch((e: unknown) => e);
    expect(isTollstreamError(err, 'DATA_DIR_LOCKED')).toBe(true);
    await first.close();
    await expect(fetch(`${first.url}/health`)).rejects.toThrow();
    const second = await start(cfg);
    expect((await fetch(`${second.url}/health`)).status).toBe(200);
  });

  it('keeps streams and the secret across a restart', async () => {
    // No declared streams, no spending alerts and no metrics history (which create their own streams): only what
    // the test creates.
    const cfg = config({ streams: [], metrics: { ...DEFAULT_CONFIG.metrics, historyIntervalSeconds: 0 } });
    const first = await start(cfg, undefined, []);
    await first.log.createStream('kept', { shardCount: 1 });
    const secret = fs.readFileSync(path.join(cfg.dataDir, 'secret'), 'utf8');
    await first.close();
    const second = await start(cfg, undefined, []);
    expect((await second.log.listStreams()).map((s) => s.name)).toEqual(['kept']);
    expect(fs.readFileSync(path.join(cfg.dataDir, 'secret'), 'utf8')).toBe(secret);
  });

  it('warns at start when API keys protect the native API but SigV4 is not verified', async () => {
    const lines: string[] = [];
    await start(config({ auth: { accessKeys: [], apiKeys: ['sha256:' + 'a'.repeat(64)] } }), lines);
    const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'warn');
    expect(warnings.map((w) => w.msg)).toEqual([expect.stringContaining('the Kinesis and Firehose APIs accept any well-formed signature')]);
  });

  it('takes CORS origins and per-shard write limits from the config', async () => {
    const server = await start(
      config({
        streams: [{ name: 'limited', shardCount: 1 }],
        warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
        http: { ...DEFAULT_CONFIG.http, corsOrigins: ['http://console.tolls.test'] },
        kinesis: { shardWriteLimits: true },
      }),
    );
    const preflight = await fetch(server.url, { method: 'OPTIONS', headers: { origin: 'http://console.tolls.test', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://console.tolls.test');
    const client = new KinesisClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    cleanups.push(() => client.destroy());
    // 2 MB in one request to one shard: past its 1 MiB per second, whatever the speed of the machine.
    const records = Array.from({ length: 500 }, () => ({ PartitionKey: 'k', Data: Buffer.alloc(4000, 1) }));
    const put = await client.send(new PutRecordsCommand({ StreamName: 'limited', Records: records }));
    expect(put.FailedRecordCount).toBeGreaterThan(0);
    expect(put.Records?.find((r) => r.ErrorCode)?.ErrorCode).toBe('ProvisionedThroughputExceededException');
  });

  it('verifies SigV4 signatures of the AWS SDK when access keys are configured', async () => {
    const server = await start(config({ auth: { accessKeys: [{ accessKeyId: 'AKIDTOLLS', secretAccessKey: 'right-secret' }], apiKeys: [] } }));
    const client = (secretAccessKey: string) =>
      new KinesisClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTOLLS', secretAccessKey }, maxAttempts: 1 });
    const good = client('right-secret');
    const bad = client('wrong-secret');
    cleanups.push(() => good.destroy(), () => bad.destroy());
    const listed = await good.send(new ListStreamsCommand({}));
    expect(listed.StreamNames).toContain('toll_transactions');
    await expect(bad.send(new ListStreamsCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
  });

  it("loads an app's reference file at start, whether or not the app runs, and a bad file stops the start without keeping the lock", async () => {
    const cfg = config();
    const good = path.join(cfg.dataDir, 'lanes.csv');
    fs.writeFileSync(good, 'plaza_id,lanes\nP01,4\n');
    const bad = path.join(cfg.dataDir, 'bad.csv');
    fs.writeFileSync(bad, 'plaza_id,lanes\nP01,0\n');
    const err = await startServer(cfg, { logger: createLogger({ level: 'silent' }), apps: [lanesApp({ file: bad })] }).catch((e: unknown) => e);
    expect(isTollstreamError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toContain("reference 'lanes' row 1");
    const server = await startServer(cfg, { logger: createLogger({ level: 'silent' }), apps: [lanesApp({ file: good })] });
    cleanups.push(() => server.close());
    expect((await server.warehouse!.query('SELECT plaza_id, lanes FROM plaza_lanes')).rows).toEqual([['P01', 4]]);
  });

  it('warns and delivers nothing when the delivered stream does not exist, and still serves the warehouse', async () => {
    const lines: string[] = [];
    // The table is declared (an app's tables are created whether or not it runs), the stream is not: the app is off.
    const server = await start(config({ streams: [] }), lines, [{ ...tollDataApp, enabled: () => false }]);
    expect(server.deliveries).toEqual([]);
    const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'warn');
    expect(warnings.map((w) => w.msg)).toContainEqual(expect.stringContaining("delivery.stream 'toll_transactions' does not exist"));
    expect((await server.warehouse!.query('SELECT count(*) FROM toll_transactions')).rows).toEqual([[0]]);
  });
});
