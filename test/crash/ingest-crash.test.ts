/**
 * Durability under crashes: the server is killed with SIGKILL again and again while concurrent producers
 * write through the Kinesis API; after every restart, every acknowledged record must be readable, in order
 * per partition key, with no duplicates except copies of records a producer retried (and none at all in a
 * stream that deduplicates).
 *
 * Replay a run with `CRASH_SEED=<seed printed by a run> npx vitest run test/crash`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgent, createStream } from '../../bench/lib/native-client.ts';
import { defaultTransportKinesisClient } from '../../bench/lib/kinesis-clients.ts';
import { findFreePort, startTollstream, type ServerProcess } from '../../bin/processes.ts';
import { createRng, seedFromEnv } from '../../bench/lib/rng.ts';
import { sleep } from '../../bench/lib/stats.ts';
import { CrashProducer, type LedgerEntry } from './producer.ts';
import { readWholeStream, verifyAgainstLedger, type VerifyOutcome } from './verify.ts';

const KILLS = 20;
const KILL_DELAY_MS = { min: 150, max: 600 };
const PLAIN_STREAM = { name: 'crash_plain', shardCount: 4 };
const DEDUPE_STREAM = { name: 'crash_dedupe', shardCount: 2, dedupe: { mode: 'field' as const, field: 'transaction_id' } };
const PARTITION_KEYS = ['PLZ-001', 'PLZ-002', 'PLZ-003', 'PLZ-004', 'PLZ-005', 'PLZ-006', 'PLZ-007', 'PLZ-008'];

describe('ingest under repeated SIGKILL', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it(`loses no acknowledged record and duplicates only retried ones across ${KILLS} kills`, { timeout: 300_000 }, async () => {
    const seed = seedFromEnv('CRASH_SEED');
    const rng = createRng(seed);
    console.log(`crash test seed ${seed} (replay with CRASH_SEED=${seed})`);

    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-crash-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await findFreePort();
    const start = () => startTollstream({ dataDir, port, logLevel: 'warn' });
    let server: ServerProcess = await start();
    cleanups.push(() => server.stop());

    const agent = createAgent(2);
    cleanups.push(async () => agent.destroy());
    await createStream(agent, server.url, PLAIN_STREAM);
    await createStream(agent, server.url, DEDUPE_STREAM);

    const runId = seed.toString(36);
    const makeProducer = (index: number, stream: string) => {
      const client = defaultTransportKinesisClient(server.url, { requestTimeoutMs: 5000 });
      cleanups.push(async () => client.destroy());
      return new CrashProducer(client, { index, stream, partitionKeys: PARTITION_KEYS, batchSize: 100, runId, rng });
    };
    const plainProducers = [0, 1, 2, 3].map((i) => makeProducer(i, PLAIN_STREAM.name));
    const dedupeProducers = [4, 5].map((i) => makeProducer(i, DEDUPE_STREAM.name));
    const producers = [...plainProducers, ...dedupeProducers];
    const reader = defaultTransportKinesisClient(server.url, { maxAttempts: 3, requestTimeoutMs: 30_000 });
    cleanups.push(async () => reader.destroy());

    const problems: string[] = [];
    let lastPlain: VerifyOutcome | undefined;
    let lastDedupe: VerifyOutcome | undefined;
    const timings = { restartMs: 0, verifyMs: 0 };
    const verify = async (when: string) => {
      const startedAt = performance.now();
      await Promise.all(producers.map((p) => p.pause()));
      lastPlain = verifyAgainstLedger(await readWholeStream(reader, PLAIN_STREAM.name), mergedLedger(plainProducers), { deduped: false });
      lastDedupe = verifyAgainstLedger(await readWholeStream(reader, DEDUPE_STREAM.name), mergedLedger(dedupeProducers), { deduped: true });
      for (const p of lastPlain.problems) problems.push(`${when}, ${PLAIN_STREAM.name}: ${p}`);
      for (const p of lastDedupe.problems) problems.push(`${when}, ${DEDUPE_STREAM.name}: ${p}`);
      for (const p of producers) p.resume();
      timings.verifyMs += performance.now() - startedAt;
    };

    for (const p of producers) p.start();
    let kills = 0;
    let interruptedRequests = 0;
    for (let cycle = 1; cycle <= KILLS; cycle++) {
      await sleep(rng.int(KILL_DELAY_MS.min, KILL_DELAY_MS.max));
      const ambiguousBefore = sum(producers, (p) => p.counters.ambiguousRequests);
      server.kill('SIGKILL');
      const exit = await server.exited;
      expect(exit.signal).toBe('SIGKILL');
      kills++;
      const restartAt = performance.now();
      server = await start();
      timings.restartMs += performance.now() - restartAt;
      await verify(`after kill ${cycle}`);
      interruptedRequests += sum(producers, (p) => p.counters.ambiguousRequests) - ambiguousBefore;
      if (problems.length > 0) break;
    }
    await Promise.all(producers.map((p) => p.stop()));
    await verify('at the end');

    const ledgers = producers.map((p) => [...p.ledger.values()]).flat();
    const summary = {
      seed,
      kills,
      acknowledged: ledgers.filter((r) => r.acknowledged).length,
      retriedRecords: ledgers.filter((r) => r.attempts + r.explicitFailures > 1).length,
      requests: sum(producers, (p) => p.counters.requests),
      failedRequests: sum(producers, (p) => p.counters.failedRequests),
      requestsInterruptedByKills: interruptedRequests,
      recordFailures: sum(producers, (p) => p.counters.recordFailures),
      plainStream: { recordsRead: lastPlain?.recordsRead, retryDuplicates: lastPlain?.retryDuplicates },
      dedupeStream: { recordsRead: lastDedupe?.recordsRead, retryDuplicates: lastDedupe?.retryDuplicates },
      meanRestartMs: Math.round(timings.restartMs / Math.max(1, kills)),
      meanVerifyMs: Math.round(timings.verifyMs / (kills + 1)),
    };
    console.log(`crash test summary: ${JSON.stringify(summary)}`);

    expect(problems).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(summary.acknowledged).toBeGreaterThan(0);
    // The kills must have hit requests in flight, or the test did not test crashes during ingest.
    expect(interruptedRequests).toBeGreaterThan(0);
  });
});

function mergedLedger(producers: readonly CrashProducer[]) {
  const merged = new Map<string, LedgerEntry>();
  for (const p of producers) for (const [id, entry] of p.ledger) merged.set(id, entry);
  return merged;
}

function sum<T>(items: readonly T[], pick: (item: T) => number): number {
  return items.reduce((total, item) => total + pick(item), 0);
}
