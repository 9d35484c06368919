/**
 * Continuous queries owned through leases (docs/cluster.md): two or three query managers, as the nodes of a
 * cluster, each with its own lease coordinator (`startWorkLeases`) and its own connections to one PostgreSQL (a
 * schema of their own per test for the leases and for the query store), over one stream log. A query counting
 * per key runs on the node holding its lease; that node is cut off from PostgreSQL (its TCP proxy closed: it can
 * neither renew nor checkpoint, but still appends to the log), and later another one stops cleanly. The output
 * must equal the file runner's over the same input: every update once, none lost, none doubled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { startLeasedNode, TEST_QUERY_LEASE_MS, TEST_QUERY_RENEW_MS } from './leased-node.ts';
import { postgresSchema } from '../postgres/server.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { appendTolls, canonical, COUNT_SQL, openLog, readAll, reference, tempDir, traffic, waitFor } from './support.ts';



/** When each node ran the query, from its own log lines. */
interface Run {
  readonly node: string;
  readonly startedAt: number;
  stoppedAt: number | null;
}

describe('continuous queries under leases', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  async function cluster() {
    const leasePlace = postgresSchema('qleases');
    const queryPlace = postgresSchema('queries');
    cleanups.push(() => leasePlace.cleanup(), () => queryPlace.cleanup());
    const { dir, cleanup } = await tempDir('queries-takeover-');
    cleanups.push(cleanup);
    const log = await openLog(dir);
    cleanups.push(() => log.close());
    await log.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } });
    const runs: Run[] = [];
    const messages: string[] = [];
    const node = async (name: string, url = leasePlace.url, timings = { leaseMs: TEST_QUERY_LEASE_MS, renewMs: TEST_QUERY_RENEW_MS }) => {
      const logger = createLogger({
        level: 'info',
        write: (line) => {
          const entry = JSON.parse(line) as { msg: string; query?: string };
          if (entry.query !== 'counts') return;
          messages.push(`${name}: ${entry.msg}`);
          if (entry.msg === 'query started') runs.push({ node: name, startedAt: performance.now(), stoppedAt: null });
          if (entry.msg.startsWith('query stopped')) for (const r of runs) if (r.node === name && r.stoppedAt === null) r.stoppedAt = performance.now();
        },
      });
      const started = await startLeasedNode({ name, log, postgresUrl: url, leaseSchema: leasePlace.schema, querySchema: queryPlace.schema, ...timings, logger });
      cleanups.push(() => started.stop());
      return started;
    };
    return { log, leasePlace, node, runs, messages };
  }

  /** A proxy in front of the test PostgreSQL: `url` reaches it through the proxy, which `stop()` closes. */
  async function proxyTo(serverUrl: string) {
    const target = new URL(serverUrl);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const url = new URL(serverUrl);
    url.host = `127.0.0.1:${proxy.port}`;
    return { proxy, url: url.toString() };
  }

  it('a query that failed a checkpoint while PostgreSQL was out of reach for a moment starts again on the node still holding its lease', { timeout: 180_000 }, async () => {
    const { log, leasePlace, node, messages } = await cluster();
    const records = traffic(1500, 29);
    const { proxy, url } = await proxyTo(leasePlace.url);
    await appendTolls(log, 'toll_transactions', records.slice(0, 300));
    // A long lease: the outage ends well before the node would give the lease up.
    const a = await node('node-a', url, { leaseMs: 12_000, renewMs: 1000 });
    await a.manager.createQuery({ name: 'counts', sql: COUNT_SQL });
    await waitFor(async () => a.manager.info('counts').stats.lastCheckpoint !== null && (await readAll(log, 'key_counts')).length >= 300, 'node-a to run the query and checkpoint', 60_000);
    await proxy.stop();
    await appendTolls(log, 'toll_transactions', records.slice(300, 700));
    await waitFor(() => a.manager.info('counts').state === 'FAILED', 'a checkpoint to fail', 30_000);
    expect(a.manager.info('counts').error?.code).toBe('TABLES_UNAVAILABLE');
    await proxy.start();
    await waitFor(() => a.manager.info('counts').state === 'RUNNING', 'the query to run again', 30_000);
    await appendTolls(log, 'toll_transactions', records.slice(700));
    const expected = await reference(COUNT_SQL, 'toll_transactions', records, 'key_counts');
    await waitFor(async () => (await readAll(log, 'key_counts')).length >= expected.length, 'every update to be written', 60_000);
    await a.manager.checkpointNow('counts');
    expect(canonical(await readAll(log, 'key_counts'))).toEqual(expected);
    expect(messages).toContain('node-a: restarting a query that failed for a passing reason');
    expect(messages.filter((m) => m.includes('lease moved'))).toEqual([]);
  });

  it('a query stopped, resumed and dropped through a node that does not run it is stopped, resumed and dropped where it runs', { timeout: 180_000 }, async () => {
    const { log, node, messages } = await cluster();
    const records = traffic(900, 37);
    await appendTolls(log, 'toll_transactions', records.slice(0, 300));
    const a = await node('node-a');
    await a.manager.createQuery({ name: 'counts', sql: COUNT_SQL });
    await waitFor(async () => a.manager.info('counts').state === 'RUNNING' && (await readAll(log, 'key_counts')).length >= 300, 'node-a to run the query', 60_000);
    const b = await node('node-b');
    expect(b.leases.status().held).toEqual([]);

    // Stopped through node-b: node-a stops it after a final checkpoint, and nobody runs it.
    await b.manager.stopQuery('counts');
    await waitFor(() => messages.includes('node-a: query stopped through another node'), 'node-a to stop the query', 30_000);
    await appendTolls(log, 'toll_transactions', records.slice(300, 600));
    await new Promise((r) => setTimeout(r, 1500));
    expect([a.manager.info('counts').state, b.manager.info('counts').state]).toEqual(['STOPPED', 'STOPPED']);
    expect(await readAll(log, 'key_counts')).toHaveLength(300);

    // Resumed through node-b: it runs again (on node-a, which kept the lease) and catches up.
    await b.manager.resumeQuery('counts');
    await appendTolls(log, 'toll_transactions', records.slice(600));
    await waitFor(async () => (await readAll(log, 'key_counts')).length >= 900, 'the query to catch up', 60_000);
    expect(canonical(await readAll(log, 'key_counts'))).toEqual(await reference(COUNT_SQL, 'toll_transactions', records, 'key_counts'));

    // Dropped through node-b: the node running it stops it, and its lease is gone.
    await b.manager.dropQuery('counts');
    await waitFor(() => a.leases.status().held.length === 0 && !a.manager.listQueries().some((q) => q.name === 'counts'), 'node-a to forget the dropped query', 30_000);
    expect(b.manager.listQueries()).toEqual([]);
  });

  it('a query moves to another node when its owner is cut off from PostgreSQL and when its owner stops, and its output stays exactly once', { timeout: 180_000 }, async () => {
    const { log, leasePlace, node, runs } = await cluster();
    const records = traffic(3000, 23);
    // node-a reaches PostgreSQL through a proxy that can be closed under it.
    const { proxy, url: viaProxy } = await proxyTo(leasePlace.url);

    await appendTolls(log, 'toll_transactions', records.slice(0, 500));
    const a = await node('node-a', viaProxy);
    await a.manager.createQuery({ name: 'counts', sql: COUNT_SQL });
    await waitFor(async () => a.leases.status().held.includes('query:counts') && (await readAll(log, 'key_counts')).length >= 500, 'node-a to run the query', 60_000);
    const b = await node('node-b');
    // The query stays where it is: one lease, node-a holds its fair share.
    expect(b.leases.status().held).toEqual([]);
    await appendTolls(log, 'toll_transactions', records.slice(500, 1200));
    // One update per record: 1200 updates written means 1200 records taken in.
    await waitFor(async () => a.manager.info('counts').stats.lastCheckpoint !== null && (await readAll(log, 'key_counts')).length >= 1200, 'node-a to take in 1200 records and checkpoint', 60_000);

    // Cut node-a off PostgreSQL while records keep coming: it stops the query before its lease expires, node-b takes over.
    const appending = appendTolls(log, 'toll_transactions', records.slice(1200, 2000), 50);
    await proxy.stop();
    const cutAt = performance.now();
    await waitFor(() => b.manager.info('counts').state === 'RUNNING', 'node-b to run the query', 60_000);
    const takenAt = performance.now();
    await appending;
    expect(a.leases.status().held).toEqual([]);
    expect(a.manager.info('counts').state).toBe('ELSEWHERE');

    // node-c joins; node-b stops cleanly (a final checkpoint, its lease released) and node-c takes over.
    const c = await node('node-c');
    await appendTolls(log, 'toll_transactions', records.slice(2000, 2500));
    await waitFor(async () => (await readAll(log, 'key_counts')).length >= 2200, 'node-b to take records in', 60_000);
    await b.stop();
    await waitFor(() => c.manager.info('counts').state === 'RUNNING', 'node-c to run the query', 60_000);
    await appendTolls(log, 'toll_transactions', records.slice(2500));

    const expected = await reference(COUNT_SQL, 'toll_transactions', records, 'key_counts');
    await waitFor(async () => (await readAll(log, 'key_counts')).length >= expected.length, 'every update to be written', 60_000);
    // Anything still in flight would show as a surplus.
    await c.manager.checkpointNow('counts');
    const dropped = log.stats().shards.filter((s) => s.stream === 'key_counts').reduce((n, s) => n + s.duplicatesDropped, 0);
    console.log(`query takeover: node-a cut off, node-b ran the query ${Math.round(takenAt - cutAt)} ms later (lease ${TEST_QUERY_LEASE_MS} ms, renew ${TEST_QUERY_RENEW_MS} ms); ${dropped} updates produced again were dropped by the output stream's dedupe`);
    expect(canonical(await readAll(log, 'key_counts'))).toEqual(expected);
    // One node at a time: each run ended before the next began (a node may lose and retake the lease when its
    // renewals come late on a loaded machine; the query then restarts there from its checkpoint, as after a takeover).
    for (let i = 1; i < runs.length; i++) expect(runs[i - 1]!.stoppedAt ?? Infinity).toBeLessThan(runs[i]!.startedAt);
    expect(runs.map((r) => r.node).filter((n, i, all) => n !== all[i - 1])).toEqual(['node-a', 'node-b', 'node-c']);
  });
});
