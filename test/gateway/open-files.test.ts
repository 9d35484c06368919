/**
 * A flood of connections must not take the file descriptors the log needs: under a low open-file limit
 * (`prlimit`, a real limit on a real server process), 500 connections that send one byte each are refused
 * beyond the cap, and records are still stored while they are open.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTollstream, type ServerProcess } from '../../bin/processes.ts';
import { openRaw } from '../support/raw-connection.ts';

const OPEN_FILES = 256;
const FLOOD = 500;

describe('the cap on connections of a running server', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it(`stores records while ${FLOOD} one-byte connections are open with ${OPEN_FILES} files allowed`, { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-fds-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const server: ServerProcess = await startTollstream({ dataDir, port: 0, openFilesLimit: OPEN_FILES });
    cleanups.push(() => server.stop());

    const created = await fetch(`${server.url}/v1/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'flooded', shardCount: 4 }),
    });
    expect(created.status).toBe(201);

    // A client connected before the flood: it is within the cap and must keep being served.
    const client = await openRaw(server.port);
    cleanups.push(async () => client.destroy());

    const flood: net.Socket[] = [];
    cleanups.push(async () => {
      for (const s of flood) s.destroy();
    });
    let refused = 0;
    await Promise.all(
      Array.from({ length: FLOOD }, () => {
        const socket = net.connect(server.port, '127.0.0.1');
        flood.push(socket);
        socket.on('error', () => undefined);
        socket.once('close', () => refused++);
        return new Promise<void>((resolve) => {
          socket.once('connect', () => socket.write('P', () => resolve()));
          socket.once('close', () => resolve());
        });
      }),
    );
    // At most half the open files are connections; the rest of the flood is closed at the door.
    const until = Date.now() + 10_000;
    while (refused < FLOOD - OPEN_FILES / 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(refused).toBeGreaterThanOrEqual(FLOOD - OPEN_FILES / 2);

    // Every shard opens its files for the first time while the flood is open.
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ n: i })).join('\n') + '\n';
    await client.write(`POST /v1/streams/flooded/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${lines.length}\r\n\r\n${lines}`);
    expect(await client.receivedWithin(']}', 30_000)).toBe(true);
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
    const body = client.received().slice(client.received().indexOf('\r\n\r\n') + 4);
    const result = JSON.parse(body) as { failedRecordCount: number; records: Array<{ shardId?: string; error?: unknown }> };
    expect(result.records.filter((r) => r.error !== undefined)).toEqual([]);
    expect(result.failedRecordCount).toBe(0);
    expect(new Set(result.records.map((r) => r.shardId)).size).toBe(4);
    expect(server.stderrTail()).toContain('http.maxConnections is lowered');
  });

  it('applies http.maxConnections from the config file to the running server', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-cap-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const configFile = path.join(dataDir, 'tollstream.config.json');
    await writeFile(configFile, JSON.stringify({ http: { maxConnections: 3 } }));
    const server = await startTollstream({ dataDir: path.join(dataDir, 'data'), port: 0, extraArgs: ['--config', configFile] });
    cleanups.push(() => server.stop());

    const within = [await openRaw(server.port), await openRaw(server.port), await openRaw(server.port)];
    cleanups.push(async () => within.forEach((c) => c.destroy()));
    const beyond = await openRaw(server.port);
    expect(await beyond.closedWithin(5000)).toBe(true);
    await within[0]!.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await within[0]!.receivedWithin('HTTP/1.1 200 OK', 5000)).toBe(true);
  });
});
