/**
 * A real full disk: a 60 MiB ext4 file system on a loop device holds the data directory and the server's stderr.
 * Filling it must not crash the server (its log lines are dropped and counted), and a server started on the
 * still-full disk (with an interrupted write at the end of a segment, which recovery cannot save aside) serves
 * reads and refuses writes with a retriable error until space is freed.
 *
 * Needs root (mount), as CI runs; mkfs.ext4 and mount come with every Debian.
 */
import { execFile, spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, open, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, REPO_ROOT, withoutTollstreamSettings } from '../../bin/processes.ts';
import { getJson, putRecords, readStream, run, startFaultServer, waitFor, type FaultServer } from './fault-server.ts';

const STREAM = 'full';

/** Writes zeros to `file` until the file system refuses (ENOSPC). */
async function fillDisk(file: string): Promise<void> {
  const fh = await open(file, 'a');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) await fh.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close().catch(() => undefined);
  }
  // Blocks may still fit a few small writes: fill those too, byte by byte in small files' worth.
  for (let i = 0; ; i++) {
    try {
      await writeFile(`${file}.${i}`, Buffer.alloc(1024));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw err;
    }
  }
}

/** Appends to `file` until its last block is full too (a full disk still takes writes into a block's slack). */
async function fillSlack(file: string): Promise<void> {
  const fh = await open(file, 'a');
  try {
    for (let i = 0; i < 65_536; i++) await fh.write(Buffer.from(' '));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close();
  }
}

async function freeDisk(mount: string): Promise<void> {
  for (const name of await readdir(mount)) if (name.startsWith('filler')) await unlink(path.join(mount, name));
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

describe('a full disk under the data directory and stderr', () => {
  let tmp: string;
  let mount: string;
  let mounted = false;
  const servers: FaultServer[] = [];
  let stderr: FileHandle | undefined;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tollstream-fulldisk-'));
    const image = path.join(tmp, 'fs.img');
    mount = path.join(tmp, 'mnt');
    await mkdir(mount);
    await run('truncate', ['-s', '60M', image]);
    await run('mkfs.ext4', ['-q', '-F', image]);
    await run('mount', ['-o', 'loop', image, mount]);
    mounted = true;
  });
  afterAll(async () => {
    for (const s of servers) await s.cleanup();
    await stderr?.close();
    if (mounted) await run('umount', [mount]);
    await rm(tmp, { recursive: true, force: true });
  });

  it('keeps the server up, then starts on the still-full disk serving reads and refusing writes until space is freed', { timeout: 180_000 }, async () => {
    const dataDir = path.join(mount, 'data');
    // The whole server: the warehouse (and its delivery from the stream), the continuous queries and alerts.
    const config = { storage: { segmentBytes: 4096 }, streams: [{ name: STREAM, shardCount: 1 }], delivery: { stream: STREAM }, warehouse: { enabled: true }, queries: { enabled: true }, alerts: { enabled: true } };
    stderr = await open(path.join(mount, 'stderr.log'), 'a');
    const first = await startFaultServer({ dataDir, config, stderrFd: stderr.fd, logLevel: 'info' });
    servers.push(first);
    // Ten appends of 1 KiB: the shard rolls to new segments (4 KiB each) on the way.
    for (let n = 0; n < 10; n++) expect((await putRecords(first.url, STREAM, [{ key: 'plaza-1', n, pad: 'p'.repeat(1024) }])).failedRecordCount).toBe(0);

    await fillDisk(path.join(mount, 'filler'));
    await fillSlack(path.join(mount, 'stderr.log'));
    const big = { key: 'plaza-1', n: 10, pad: 'x'.repeat(400_000) };
    expect((await putRecords(first.url, STREAM, [big])).failedRecordCount).toBe(1);
    // The failure was logged to the full disk: the line is lost, not the process.
    await waitFor('a lost log line', 10_000, async () => ((await metric(first.url, 'tollstream_log_lines_lost_total')) > 0 ? true : undefined));
    // The shard waits for free space before it takes writes again (cutting the failed write alone frees too little).
    await new Promise((r) => setTimeout(r, 1000));
    const health = await getJson(`${first.url}/health`);
    expect(health.status).toBe(200);
    // The shard of the refused write is failed; others written meanwhile (the validation function's output
    // stream) may be too, on the same full disk.
    expect(health.body).toMatchObject({ status: 'degraded', failedShards: expect.arrayContaining([expect.objectContaining({ stream: STREAM, reason: expect.stringContaining('ENOSPC') })]) });
    expect((await readStream(first.url, STREAM)).length).toBe(10);
    first.server.kill('SIGTERM');
    expect(await first.server.exited).toEqual({ code: 0, signal: null });

    // An interrupted write at the end of the segment (bytes of a batch that never completed), on a full disk.
    await freeDisk(mount);
    const shardDir = path.join(dataDir, 'streams', STREAM, 'shardId-000000000000');
    const files = (await readdir(shardDir)).sort();
    const segment = files.filter((n) => n.endsWith('.log')).at(-1)!;
    // Index files lost too: a sealed segment's are rebuilt at open, and writing them fails on the full disk.
    for (const name of files) if (name.endsWith('.index') || name.endsWith('.timeindex')) await unlink(path.join(shardDir, name));
    await appendFile(path.join(shardDir, segment), Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0x40, 0, 1]), Buffer.alloc(299, 7)]));
    await fillDisk(path.join(mount, 'filler'));

    const second = await startFaultServer({ dataDir, config, stderrFd: stderr.fd, logLevel: 'info' });
    servers.push(second);
    expect((await getJson(`${second.url}/health`)).status).toBe(200);
    const before = await readStream(second.url, STREAM);
    expect(before.map((r) => (JSON.parse(Buffer.from(r.data).toString()) as { n: number }).n)).toEqual([...Array(10).keys()]);
    const report = await fetch(`${second.url}/v1/reports/top_customers`);
    expect(report.status).toBe(200);
    expect(Array.isArray(((await report.json()) as { rows?: unknown }).rows)).toBe(true);
    const refused = await putRecords(second.url, STREAM, [big]);
    expect(refused.failedRecordCount).toBe(1);
    expect(refused.body).toMatch(/ENOSPC/);

    await freeDisk(mount);
    await waitFor('the shard to take writes again', 60_000, async () => ((await putRecords(second.url, STREAM, [big])).failedRecordCount === 0 ? true : undefined));
    const after = await readStream(second.url, STREAM);
    expect(after.map((r) => (JSON.parse(Buffer.from(r.data).toString()) as { n: number }).n)).toEqual([...Array(11).keys()]);
  });

  it('starts with its output and log both appended to a file on the full disk (up >> log 2>&1)', { timeout: 120_000 }, async () => {
    await freeDisk(mount);
    const dataDir = path.join(mount, 'data-output');
    const configFile = path.join(tmp, 'output.config.json');
    await writeFile(configFile, JSON.stringify({ streams: [], warehouse: { enabled: false }, queries: { enabled: false }, alerts: { enabled: false }, stationAlerts: { enabled: false } }));
    // A data directory from an earlier start (a new one cannot be made on a full disk).
    const earlier = await startFaultServer({ dataDir });
    await earlier.cleanup();
    const output = await open(path.join(mount, 'output.log'), 'a');
    await fillDisk(path.join(mount, 'filler'));
    const port = await findFreePort();
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/tollstream.mjs'), 'up', '--data-dir', dataDir, '--port', String(port), '--config', configFile], {
      stdio: ['ignore', output.fd, output.fd],
      env: withoutTollstreamSettings(process.env),
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let gone = false;
    void exited.then(() => (gone = true));
    try {
      await waitFor('the server to answer /health', 60_000, async () => {
        if (gone) throw new Error('the server exited');
        return fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => (r.status === 200 ? true : undefined),
          () => undefined,
        );
      });
      // It printed its ready line (lost) by now and keeps serving.
      await new Promise((r) => setTimeout(r, 500));
      expect(gone).toBe(false);
      expect((await fetch(`http://127.0.0.1:${port}/v1/streams`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await output.close();
    }
  });
});
