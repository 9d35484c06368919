/**
 * The JetStream log as a cluster uses it: several processes (here: several log instances, each with its own
 * NATS connection) over one 3-server cluster, and a server killed with SIGKILL under load. What the shared
 * conformance suite cannot see from one instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { openJetStreamLog } from '../../src/log/index.ts';
import type { AppendRecord, JetStreamStreamLog, StartPosition, StoredRecord, StreamLog } from '../../src/log/index.ts';
import { startNatsCluster } from '../../bin/nats-cluster.ts';
import type { NatsCluster } from '../../bin/nats-cluster.ts';

const tx = (id: string) => ({ partitionKey: `plate-${id}`, data: Buffer.from(`{"transaction_id":"${id}","amount":2.5}`) });
const text = (r: StoredRecord) => Buffer.from(r.data).toString('utf8');

async function readShard(log: StreamLog, stream: string, shardId: string): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  let position: StartPosition | null = { type: 'TRIM_HORIZON' };
  while (position) {
    const r = await log.read(stream, shardId, position, { maxRecords: 500 });
    out.push(...r.records);
    if (r.records.length === 0) break;
    position = r.next;
  }
  return out;
}

async function readStream(log: StreamLog, stream: string): Promise<Map<string, StoredRecord[]>> {
  const byShard = new Map<string, StoredRecord[]>();
  for (const s of (await log.describeStream(stream)).shards) byShard.set(s.shardId, await readShard(log, stream, s.shardId));
  return byShard;
}

/** The index of the server leading the JetStream stream `jsStream`. */
async function leaderOf(cluster: NatsCluster, jsStream: string): Promise<number> {
  const nc = await connect({ servers: [...cluster.urls] });
  try {
    const leader = (await (await jetstreamManager(nc)).streams.info(jsStream)).cluster?.leader;
    const index = cluster.servers.findIndex((s) => s.name === leader);
    if (index < 0) throw new Error(`no server leads ${jsStream} (leader: ${String(leader)})`);
    return index;
  } finally {
    await nc.close();
  }
}

let prefixes = 0;
const nextPrefix = () => `c${process.pid}x${++prefixes}`;

describe('JetStream log, several nodes on one cluster', () => {
  let cluster: NatsCluster;
  const open: JetStreamStreamLog[] = [];
  const node = async (prefix: string) => {
    // A loaded test machine can take seconds to place a 3-replica stream: more than the 5 s default.
    const log = await openJetStreamLog({ servers: cluster.urls, prefix, replicas: 3, requestTimeoutMs: 20_000 });
    open.push(log);
    return log;
  };
  beforeAll(async () => {
    cluster = await startNatsCluster();
  });
  afterAll(async () => {
    for (const log of open) await log.close().catch(() => undefined);
    await cluster?.close();
  });

  it('serves on one node what another appended, and answers a retry there with the first record', async () => {
    const prefix = nextPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    await a.createStream('tolls', { shardCount: 2, dedupe: { mode: 'field', field: 'transaction_id' } });
    const first = await a.append('tolls', Array.from({ length: 10 }, (_, i) => tx(`t${i}`)));
    // Node a is gone before its producer heard back; the producer retries on node b.
    await a.close();
    const retry = await b.append('tolls', [...Array.from({ length: 10 }, (_, i) => tx(`t${i}`)), tx('t10')]);
    for (let i = 0; i < 10; i++) expect(retry[i]).toEqual({ ...first[i], duplicate: true });
    expect(retry[10]).toMatchObject({ ok: true, duplicate: false });
    const stored = [...(await readStream(b, 'tolls')).values()].flat();
    expect(stored.map(text).sort()).toEqual(Array.from({ length: 11 }, (_, i) => tx(`t${i}`)).map((r) => r.data.toString()).sort());
  });

  it('loads a window of many messages on a fresh node, so retries of the oldest and newest records are recognized', async () => {
    const prefix = nextPrefix();
    const a = await node(prefix);
    await a.createStream('s', { dedupe: { mode: 'field', field: 'transaction_id' } });
    const first: Awaited<ReturnType<typeof a.append>>[] = [];
    // More messages than a fresh node fetches one by one: it streams them through a consumer.
    for (let k = 0; k < 40; k++) first.push(await a.append('s', Array.from({ length: 5 }, (_, i) => tx(`w${k}-${i}`))));
    const b = await node(prefix);
    const retry = await b.append('s', [tx('w0-0'), tx('w39-4'), tx('w20-2'), tx('fresh')]);
    expect(retry.slice(0, 3)).toEqual([
      { ...first[0]![0]!, duplicate: true },
      { ...first[39]![4]!, duplicate: true },
      { ...first[20]![2]!, duplicate: true },
    ]);
    expect(retry[3]).toMatchObject({ ok: true, duplicate: false });
    expect(b.stats().dedupe).toEqual([expect.objectContaining({ stream: 's', keys: 201 })]);
  });

  it('wakes a subscription on one node when another appends', async () => {
    const prefix = nextPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    await a.createStream('s');
    await b.describeStream('s');
    const sub = b.subscribe('s', 'shardId-000000000000', { type: 'LATEST' });
    const seen: string[] = [];
    const done = (async () => {
      for await (const batch of sub) {
        seen.push(...batch.records.map(text));
        if (seen.length >= 3) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await a.append('s', [tx('x1'), tx('x2')]);
    await new Promise((r) => setTimeout(r, 50));
    await a.append('s', [tx('x3')]);
    await done;
    sub.close();
    expect(seen.map((s) => JSON.parse(s).transaction_id)).toEqual(['x1', 'x2', 'x3']);
  });

  it('stores each key once when two nodes take the same records at once', async () => {
    const prefix = nextPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    await a.createStream('s', { shardCount: 2, dedupe: { mode: 'field', field: 'transaction_id' } });
    await b.describeStream('s');
    const batches = Array.from({ length: 20 }, (_, k) => Array.from({ length: 25 }, (_, i) => tx(`k${k}-${i}`)));
    const [ra, rb] = await Promise.all([
      Promise.all(batches.map((batch) => a.append('s', batch))),
      Promise.all(batches.map((batch) => b.append('s', batch))),
    ]);
    const fromA = ra.flat();
    const fromB = rb.flat();
    expect(fromA.filter((r) => !r.ok)).toEqual([]);
    expect(fromB.filter((r) => !r.ok)).toEqual([]);
    for (let i = 0; i < fromA.length; i++) {
      const x = fromA[i]!;
      const y = fromB[i]!;
      // Both nodes name the same stored record; exactly one of them stored it.
      if (x.ok && y.ok) expect({ i, seq: y.sequenceNumber, once: x.duplicate !== y.duplicate }).toEqual({ i, seq: x.sequenceNumber, once: true });
    }
    const stored = [...(await readStream(a, 's')).values()].flat();
    expect(stored).toHaveLength(500);
    expect(new Set(stored.map(text)).size).toBe(500);
  });

  it('keeps every record one node acknowledged while another reshards, none past a parent end', async () => {
    const prefix = nextPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    await a.createStream('s', { shardCount: 2 });
    await b.describeStream('s');
    const acked = new Map<string, string>();
    let stop = false;
    const writer = (async () => {
      for (let round = 0; !stop || round < 5; round++) {
        const batch: AppendRecord[] = Array.from({ length: 20 }, (_, i) => ({ partitionKey: `k${round}-${i}`, data: Buffer.from(`r${round}-${i}`) }));
        const res = await b.append('s', batch);
        res.forEach((r, i) => {
          expect(r.ok).toBe(true);
          if (r.ok) acked.set(`${r.shardId}/${r.sequenceNumber}`, `r${round}-${i}`);
        });
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const d = await a.updateShardCount('s', 4);
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await writer;
    const stored = await readStream(a, 's');
    let total = 0;
    for (const shard of d.shards) {
      const records = stored.get(shard.shardId)!;
      total += records.length;
      for (const r of records) expect(acked.get(`${shard.shardId}/${r.sequenceNumber}`)).toBe(text(r));
      if (shard.endingSequenceNumber) for (const r of records) expect(BigInt(r.sequenceNumber) <= BigInt(shard.endingSequenceNumber)).toBe(true);
    }
    expect(total).toBe(acked.size);
    // Node b routes to the children now.
    const after = await b.append('s', [{ partitionKey: 'late', data: Buffer.from('late') }]);
    expect(d.shards.slice(2).some((s) => after[0]!.ok && s.shardId === after[0]!.shardId)).toBe(true);
  });

  it('reports the newest record in stats, and fails a subscription to a stream that does not exist', async () => {
    const a = await node(nextPrefix());
    await a.createStream('s');
    const res = await a.append('s', [tx('n1'), tx('n2'), tx('n3')]);
    const last = res[2]!;
    expect(a.stats().shards).toEqual([expect.objectContaining({ shardId: 'shardId-000000000000', recordsIn: 3, latestSequenceNumber: last.ok ? last.sequenceNumber : '' })]);
    const sub = a.subscribe('missing', 'shardId-000000000000', { type: 'TRIM_HORIZON' });
    await expect(sub[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
  });

  it('drops a closed parent shard once JetStream holds none of its records', async () => {
    const prefix = nextPrefix();
    const a = await node(prefix);
    await a.createStream('s');
    await a.append('s', [tx('p1'), tx('p2')]);
    await a.updateShardCount('s', 2);
    await a.enforceRetention();
    expect((await a.describeStream('s')).shards.map((s) => s.shardId)).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002']);
    // What max_age does to the parent's messages once they are old enough.
    const nc = await connect({ servers: [...cluster.urls] });
    await (await jetstreamManager(nc)).streams.purge(`${prefix}_s_0`);
    await nc.close();
    await a.enforceRetention();
    const d = await a.describeStream('s');
    expect(d.shards.map((s) => s.shardId)).toEqual(['shardId-000000000001', 'shardId-000000000002']);
    expect(d.shards.map((s) => s.parentShardIds)).toEqual([['shardId-000000000000'], ['shardId-000000000000']]);
  });

  it("keeps a stream's retention as JetStream's max_age and max_bytes of every shard, at create, after an update and after a reshard", async () => {
    const prefix = nextPrefix();
    const a = await node(prefix);
    const HOUR_NS = 3_600_000_000_000;
    const nc = await connect({ servers: [...cluster.urls] });
    try {
      const jsm = await jetstreamManager(nc);
      const limits = async (shardCount: number) => {
        const out: Array<{ maxAgeHours: number; maxBytes: number }> = [];
        for (let i = 0; i < shardCount; i++) {
          const { config } = await jsm.streams.info(`${prefix}_r_${i}`);
          out.push({ maxAgeHours: config.max_age / HOUR_NS, maxBytes: config.max_bytes });
        }
        return out;
      };
      await a.createStream('r', { shardCount: 2, retentionHours: 36 });
      expect(await limits(2)).toEqual([{ maxAgeHours: 36, maxBytes: -1 }, { maxAgeHours: 36, maxBytes: -1 }]);
      await a.updateRetention('r', { retentionHours: 72, retentionBytes: 50_000_000 });
      expect(await limits(2)).toEqual([{ maxAgeHours: 72, maxBytes: 50_000_000 }, { maxAgeHours: 72, maxBytes: 50_000_000 }]);
      expect((await a.describeStream('r')).retentionHours).toBe(72);
      // The children of a reshard get the stream's retention as it is now.
      await a.updateShardCount('r', 4);
      expect((await limits(6)).slice(2)).toEqual(Array.from({ length: 4 }, () => ({ maxAgeHours: 72, maxBytes: 50_000_000 })));
    } finally {
      await nc.close();
    }
  });
});

describe('JetStream log, a server killed under load', () => {
  let cluster: NatsCluster | undefined;
  afterAll(async () => {
    await cluster?.close();
  });

  it('stores every acknowledged record exactly once when a minority server is killed with SIGKILL and comes back', async () => {
    cluster = await startNatsCluster();
    const prefix = nextPrefix();
    const a = await openJetStreamLog({ servers: cluster.urls, prefix, replicas: 3, requestTimeoutMs: 2000 });
    const b = await openJetStreamLog({ servers: [...cluster.urls].reverse(), prefix, replicas: 3, requestTimeoutMs: 2000 });
    try {
      await a.createStream('s', { shardCount: 3, dedupe: { mode: 'field', field: 'transaction_id' } });
      await b.describeStream('s');
      const acked = new Map<string, string>();
      let sent = 0;
      let failures = 0;
      let ackedAfterKill = 0;
      let killed = false;
      let finished = false;
      // Producers retry what was not acknowledged, alternating nodes, as a Kinesis producer behind a load
      // balancer would; they run until the killed server is back.
      const producer = async (p: number) => {
        for (let k = 0; !finished; k++) {
          let batch = Array.from({ length: 50 }, (_, i) => tx(`p${p}-${k}-${i}`));
          sent += batch.length;
          for (let attempt = 0; batch.length > 0; attempt++) {
            const log = (k + attempt + p) % 2 === 0 ? a : b;
            const res = await log.append('s', batch).catch(() => batch.map(() => ({ ok: false }) as const));
            const retry: typeof batch = [];
            res.forEach((r, i) => {
              if (r.ok) {
                acked.set(JSON.parse(batch[i]!.data.toString()).transaction_id, `${r.shardId}/${r.sequenceNumber}`);
                if (killed) ackedAfterKill++;
              } else retry.push(batch[i]!);
            });
            if (retry.length > 0) {
              failures++;
              await new Promise((r) => setTimeout(r, 100));
            }
            batch = retry;
          }
        }
      };
      const producing = Promise.all([0, 1, 2].map(producer));
      await new Promise((r) => setTimeout(r, 500));
      // Kill the server leading shard 0's stream, so a leader election happens under the appends.
      const victim = await leaderOf(cluster, `${prefix}_s_0`);
      await cluster.stop(victim, 'SIGKILL');
      const killedAt = Date.now();
      killed = true;
      // With the victim still down, the two others elect new leaders and take the appends.
      for (let waited = 0; ackedAfterKill < 500 && waited < 40_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      const resumedAfterMs = Date.now() - killedAt;
      const ackedWhileDown = ackedAfterKill;
      await cluster.start(victim);
      await new Promise((r) => setTimeout(r, 1000));
      finished = true;
      await producing;
      expect(ackedWhileDown).toBeGreaterThanOrEqual(500);
      expect(acked.size).toBe(sent);
      const stored = [...(await readStream(b, 's')).entries()].flatMap(([shardId, rs]) => rs.map((r) => ({ shardId, r })));
      const ids = stored.map(({ r }) => JSON.parse(text(r)).transaction_id as string);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(sent);
      for (const { shardId, r } of stored) expect(acked.get(JSON.parse(text(r)).transaction_id)).toBe(`${shardId}/${r.sequenceNumber}`);
      // Reported for the record: how many appends failed while the cluster elected new leaders.
      console.log(`records: ${sent}; 500 acknowledged with the server down, ${resumedAfterMs} ms after the kill; appends retried: ${failures}`);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('JetStream log, the leader of a shard killed', () => {
  let cluster: NatsCluster | undefined;
  afterAll(async () => {
    await cluster?.close();
  });

  it('acknowledges an append sent while the shard has no leader once the survivors elect one, instead of failing it', async () => {
    cluster = await startNatsCluster();
    const prefix = nextPrefix();
    const log = await openJetStreamLog({ servers: cluster.urls, prefix, replicas: 3, requestTimeoutMs: 20_000 });
    try {
      await log.createStream('s');
      expect((await log.append('s', [tx('before')]))[0]).toMatchObject({ ok: true });
      await cluster.stop(await leaderOf(cluster, `${prefix}_s_0`), 'SIGKILL');
      // Sent once, as a producer's first try: nats-server's followers wait 4 to 9 s before they elect a new leader.
      const [during] = await log.append('s', [tx('during')]);
      expect(during).toMatchObject({ ok: true, duplicate: false });
      const stored = (await readStream(log, 's')).get('shardId-000000000000')!.map((r) => JSON.parse(text(r)).transaction_id as string);
      expect(stored).toEqual(['before', 'during']);
    } finally {
      await log.close();
    }
  });
});

describe('JetStream log, the leader of a shard stopped cleanly', () => {
  let cluster: NatsCluster | undefined;
  afterAll(async () => {
    await cluster?.close();
  });

  it('sends an append again once the shard has a new leader, rather than waiting for an answer from the one that stopped', async () => {
    cluster = await startNatsCluster();
    const prefix = nextPrefix();
    const setup = await openJetStreamLog({ servers: cluster.urls, prefix, replicas: 3, requestTimeoutMs: 20_000 });
    await setup.createStream('s');
    expect((await setup.append('s', [tx('before')]))[0]).toMatchObject({ ok: true });
    await setup.close();
    const victim = await leaderOf(cluster, `${prefix}_s_0`);
    // Connected to a server that stays: its publishes reach the leader through it. One left unanswered would wait
    // `requestTimeoutMs` before it is sent again, far past the test's patience below.
    const log = await openJetStreamLog({ servers: [cluster.servers[(victim + 1) % 3]!.url], prefix, replicas: 3, requestTimeoutMs: 120_000 });
    try {
      // One append after the other, so that one is on its way to the leader when it stops.
      const acked: string[] = [];
      let stopped = false;
      let afterStop = 0;
      let producing = true;
      const producer = (async () => {
        for (let i = 0; producing; i++) {
          const [r] = await log.append('s', [tx(`a${i}`)]);
          expect(r).toMatchObject({ ok: true });
          acked.push(`a${i}`);
          if (stopped) afterStop++;
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      await cluster.stop(victim, 'SIGTERM');
      stopped = true;
      for (let waited = 0; afterStop < 20 && waited < 30_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      producing = false;
      await producer;
      expect(afterStop).toBeGreaterThanOrEqual(20);
      // Sent again with the same message id: stored once each.
      const stored = (await readStream(log, 's')).get('shardId-000000000000')!.map((r) => JSON.parse(text(r)).transaction_id as string);
      expect(stored).toEqual(['before', ...acked]);
    } finally {
      await log.close();
    }
  }, 120_000);
});

describe('JetStream log, quorum lost', () => {
  let cluster: NatsCluster | undefined;
  afterAll(async () => {
    await cluster?.close();
  });

  it('acknowledges nothing while 2 of 3 servers are down, and appends again once they are back', async () => {
    cluster = await startNatsCluster();
    const log = await openJetStreamLog({ servers: cluster.urls, prefix: nextPrefix(), replicas: 3, requestTimeoutMs: 1000 });
    try {
      await log.createStream('s');
      // Short timeouts on a busy machine: the new stream's first publish may need a second try.
      let before: Awaited<ReturnType<typeof log.append>> = [];
      for (let attempt = 0; attempt < 10 && !before[0]?.ok; attempt++) before = await log.append('s', [tx('before')]);
      expect(before[0]).toMatchObject({ ok: true });
      await cluster.stop(1, 'SIGKILL');
      await cluster.stop(2, 'SIGKILL');
      const during = await log.append('s', [tx('during-1'), tx('during-2')]);
      expect(during.map((r) => r.ok)).toEqual([false, false]);
      expect(during[0]).toMatchObject({ errorCode: 'InternalFailure' });
      await cluster.start(1);
      await cluster.start(2);
      let after: Awaited<ReturnType<typeof log.append>> = [];
      // Until the servers elected leaders again, appends fail at once (no responders) or time out: retry.
      for (let attempt = 0; attempt < 60 && !after[0]?.ok; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 500));
        after = await log.append('s', [tx(`after-${attempt}`)]);
      }
      expect(after[0]).toMatchObject({ ok: true });
    } finally {
      await log.close();
    }
  });
});
