/**
 * A shard whose fsync fails (EIO, injected with libfiu into a running server) refuses writes, says so on
 * /health, /metrics and in the log, heals by itself once fsync works again, and never loses or reuses what it
 * acknowledged. SIGTERM stops a server with a failed shard.
 */
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultTransportKinesisClient } from '../../bench/lib/kinesis-clients.ts';
import { createStream, getJson, putRecords, readStream, startFaultServer, waitFor, type FaultServer } from './fault-server.ts';

const FDATASYNC_EIO = 'enable name=posix/io/sync/fdatasync,failinfo=5';
const FDATASYNC_OK = 'disable name=posix/io/sync/fdatasync';
const STREAM = 'heal';
const SHARD = 'shardId-000000000000';

const tolls = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ key: 'plaza-1', n: from + i }));

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function fsyncCount(metrics: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith('tollstream_fsync_duration_seconds_count'));
  return Number(line?.split(' ').at(-1) ?? 0);
}

describe('a shard whose fsync fails', () => {
  let running: FaultServer | undefined;
  afterEach(async () => {
    await running?.cleanup();
    running = undefined;
  });

  it('refuses writes, reports it, heals once the disk does, and keeps every acknowledged record', { timeout: 120_000 }, async () => {
    running = await startFaultServer({ fiu: true });
    const { url, server } = running;
    await createStream(url, STREAM, 1);
    expect((await putRecords(url, STREAM, tolls(0, 10))).failedRecordCount).toBe(0);

    await running.fiu(FDATASYNC_EIO);
    const failedPut = await putRecords(url, STREAM, tolls(10, 5));
    expect(failedPut.failedRecordCount).toBe(5);
    // While failed, appends are refused at once, with a message that says the shard heals by itself.
    const refused = await putRecords(url, STREAM, tolls(15, 1));
    expect(refused.failedRecordCount).toBe(1);
    expect(refused.body).toContain('takes writes again once the disk recovers');
    expect((JSON.parse(refused.body) as { records: Array<{ error: { code: string } }> }).records[0]!.error.code).toBe('IO_ERROR');
    // Through the Kinesis API: InternalFailure (which SDKs retry), with the reason rather than a bare internal error.
    const kinesis = defaultTransportKinesisClient(url);
    const putRecord = kinesis.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'plaza-1', Data: Buffer.from('{"n":-1}') }));
    await expect(putRecord).rejects.toMatchObject({ name: 'InternalFailure', message: expect.stringContaining('refuses writes') });
    kinesis.destroy();

    const health = await getJson(`${url}/health`);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    const failedShards = health.body.failedShards as Array<{ stream: string; shardId: string; reason: string }>;
    expect(failedShards).toHaveLength(1);
    expect(failedShards[0]).toMatchObject({ stream: STREAM, shardId: SHARD });
    expect(failedShards[0]!.reason).toMatch(/EIO/);
    const metrics = await metricsText(url);
    expect(metrics).toContain(`tollstream_shard_failed{stream="${STREAM}",shard="${SHARD}"} 1`);
    expect(metrics).toContain(`tollstream_shard_write_failures_total{stream="${STREAM}",shard="${SHARD}"} 1`);
    // Reads keep working while the shard refuses writes.
    expect((await readStream(url, STREAM)).length).toBe(10);

    // Give the shard a few failed attempts to heal, then let fsync work again.
    await new Promise((r) => setTimeout(r, 1500));
    await running.fiu(FDATASYNC_OK);
    await waitFor('the shard to heal', 30_000, async () => ((await getJson(`${url}/health`)).body.status === 'ok' ? true : undefined));
    expect(await metricsText(url)).toContain(`tollstream_shard_failed{stream="${STREAM}",shard="${SHARD}"} 0`);
    expect((await putRecords(url, STREAM, tolls(100, 10))).failedRecordCount).toBe(0);

    const records = await readStream(url, STREAM);
    const numbers = records.map((r) => (JSON.parse(Buffer.from(r.data).toString('utf8')) as { n: number }).n);
    // The refused records are gone; offsets continue right after the last acknowledged record.
    expect(numbers).toEqual([...Array(10).keys(), ...Array.from({ length: 10 }, (_, i) => 100 + i)]);
    const offsets = records.map((r) => Number(r.sequenceNumber.slice(-20)));
    expect(offsets).toEqual(offsets.map((_, i) => offsets[0]! + i));

    const lines = server.stderrTail().split('\n');
    expect(lines.filter((l) => l.includes('shard failed')).length).toBe(1);
    expect(lines.filter((l) => l.includes('shard healed')).length).toBe(1);
  });

  it('under fsync interval, writes again and fsyncs the acknowledged records its failed fsync left unsynced', { timeout: 120_000 }, async () => {
    // No metrics history: its stream's fsyncs would count in the fsync metric this test waits on.
    const config = { storage: { fsync: 'interval', fsyncIntervalMs: 50 }, metrics: { historyIntervalSeconds: 0 } };
    running = await startFaultServer({ fiu: true, config });
    const { url, server } = running;
    await createStream(url, STREAM, 1);
    const fsyncsBefore = fsyncCount(await metricsText(url));
    expect((await putRecords(url, STREAM, tolls(0, 10))).failedRecordCount).toBe(0);
    // The first records must be on disk before fsync fails, or their own periodic fsync fails the shard first.
    await waitFor('the first records to be fsynced', 20_000, async () => (fsyncCount(await metricsText(url)) > fsyncsBefore ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    await running.fiu(FDATASYNC_EIO);
    // Acknowledged once written; the periodic fsync that follows fails and fails the shard.
    expect((await putRecords(url, STREAM, tolls(10, 10))).failedRecordCount).toBe(0);
    await waitFor('the failed fsync to fail the shard', 20_000, async () => ((await getJson(`${url}/health`)).body.status === 'degraded' ? true : undefined));
    await running.fiu(FDATASYNC_OK);
    await waitFor('the shard to heal', 30_000, async () => ((await getJson(`${url}/health`)).body.status === 'ok' ? true : undefined));
    expect((await putRecords(url, STREAM, tolls(20, 10))).failedRecordCount).toBe(0);
    const numbers = (await readStream(url, STREAM)).map((r) => (JSON.parse(Buffer.from(r.data).toString('utf8')) as { n: number }).n);
    expect(numbers).toEqual([...Array(30).keys()]);
  });

  it('lets SIGTERM stop a server whose shard is failed', { timeout: 60_000 }, async () => {
    // The whole server this time: a delivery into the warehouse and the continuous queries follow the stream.
    const full = { streams: [{ name: STREAM, shardCount: 2 }], delivery: { stream: STREAM }, warehouse: { enabled: true }, queries: { enabled: true } };
    running = await startFaultServer({ fiu: true, config: full });
    const { url, server } = running;
    await running.fiu(FDATASYNC_EIO);
    const put = await putRecords(url, STREAM, tolls(0, 20).map((t, i) => ({ ...t, key: `plaza-${i}` })));
    expect(put.failedRecordCount).toBeGreaterThan(0);
    expect((await getJson(`${url}/health`)).body.status).toBe('degraded');

    server.kill('SIGTERM');
    // Bounded: a server that hangs is killed after 20 s, and then exits by signal rather than with code 0.
    const killer = setTimeout(() => server.kill('SIGKILL'), 20_000);
    const exit = await server.exited;
    clearTimeout(killer);
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
