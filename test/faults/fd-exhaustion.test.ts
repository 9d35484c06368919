/**
 * A server out of file descriptors fails the appends that need a file it cannot open, and takes them again once
 * descriptors are free: no shard stays failed. The connection cap (at most half of `ulimit -n`) keeps a flood
 * of connections from using up the descriptors by itself, so the test holds idle connections within the cap
 * and then lowers the running server's limit to what it has open (`prlimit --pid`), as another tenant of the
 * limit or a leak elsewhere in the process would.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent, request } from '../../bench/lib/native-client.ts';
import { shardForHashKey, type ShardDescription } from '../../src/log/index.ts';
import { createStream, openFdCount, run, startFaultServer, waitFor, type FaultServer } from './fault-server.ts';

const FD_LIMIT = 256;
const IDLE_CONNECTIONS = 60;
const STREAM = 'fds';
const SHARDS = 8;

describe('running out of file descriptors', () => {
  let running: FaultServer | undefined;
  const sockets: net.Socket[] = [];
  let agent: http.Agent | undefined;
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    agent?.destroy();
    await running?.cleanup();
    running = undefined;
  });

  it('fails only the appends at hand and leaves every shard writable once descriptors are free', { timeout: 120_000 }, async () => {
    // Idle connections must outlive the test's steps: the header timeout is raised well past them.
    running = await startFaultServer({ wrapper: ['prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`], config: { http: { headersTimeoutMs: 120_000 } } });
    const { url, server } = running;
    await createStream(url, STREAM, SHARDS);
    const { shards } = (await (await fetch(`${url}/v1/streams/${STREAM}`)).json()) as { shards: ShardDescription[] };
    // One partition key per shard.
    const keys = new Map<string, string>();
    for (let i = 0; keys.size < SHARDS; i++) {
      const shard = shardForHashKey(shards, { partitionKey: `plaza-${i}` })!;
      if (!keys.has(shard.shardId)) keys.set(shard.shardId, `plaza-${i}`);
    }
    // Sent on one keep-alive connection opened before the flood.
    agent = createAgent(1);
    const putAll = (tag: string) => {
      const body = [...keys.values()].map((key) => JSON.stringify({ key, tag })).join('\n');
      return request(agent!, `${url}/v1/streams/${STREAM}/records?partitionKeyField=key`, 'POST', body, 'application/x-ndjson');
    };
    expect((await request(agent, `${url}/v1/streams/${STREAM}`, 'GET')).status).toBe(200);

    // Idle connections that sent one byte each, within the connection cap; then no descriptor is left.
    const before = await openFdCount(server.pid);
    for (let i = 0; i < IDLE_CONNECTIONS; i++) {
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('P');
      sockets.push(socket);
    }
    await waitFor('the server to hold the idle connections', 20_000, async () => ((await openFdCount(server.pid)) >= before + IDLE_CONNECTIONS ? true : undefined));
    const held = await openFdCount(server.pid);
    // A few below what it holds, so that a descriptor the server closes meanwhile does not let an open through.
    await run('prlimit', ['--pid', String(server.pid), `--nofile=${held - 4}:${FD_LIMIT}`]);

    const starved = await putAll('starved');
    expect(starved.status).toBe(200);
    const starvedResult = JSON.parse(starved.body) as { failedRecordCount: number; records: Array<{ error?: { message: string } }> };
    expect(starvedResult.failedRecordCount).toBe(SHARDS);
    expect(starvedResult.records[0]!.error!.message).toMatch(/EMFILE/);

    for (const s of sockets.splice(0)) s.destroy();
    await waitFor('the server to close the idle connections', 20_000, async () => ((await openFdCount(server.pid)) < held - IDLE_CONNECTIONS / 2 ? true : undefined));

    const healed = JSON.parse((await putAll('after')).body) as { failedRecordCount: number };
    expect(healed.failedRecordCount).toBe(0);
    expect((await (await fetch(`${url}/health`)).json()) as unknown).toEqual({ status: 'ok' });
  });
});
