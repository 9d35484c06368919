import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeStreamLogConformance } from '../conformance.ts';
import { openEmbeddedLog } from '../index.ts';
import type { EmbeddedLogOptions, EmbeddedStreamLog } from '../index.ts';

// The whole contract with a cache of two open files: nearly every write and read reopens its file.
describeStreamLogConformance(
  'embedded, 2 open files',
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-log-'));
    const options: EmbeddedLogOptions = { dir, fsync: 'always', segmentBytes: 4096, indexIntervalBytes: 256, maxOpenFiles: 2 };
    let log: EmbeddedStreamLog = await openEmbeddedLog(options);
    return {
      get log() {
        return log;
      },
      async reopen() {
        await log.close();
        log = await openEmbeddedLog(options);
        return log;
      },
      async cleanup() {
        await log.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  {},
);

const openFds = async () => (await readdir('/proc/self/fd')).length;

describe('open segment files', () => {
  let dir: string | undefined;
  let log: EmbeddedStreamLog | undefined;
  afterEach(async () => {
    await log?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    log = undefined;
    dir = undefined;
  });

  it('stay under the cap while appends and reads reach every shard of streams with many more shards', { timeout: 60_000 }, async () => {
    const maxOpenFiles = 16;
    dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-fds-'));
    log = await openEmbeddedLog({ dir, fsync: 'always', maxOpenFiles, segmentBytes: 4096 });
    const streams = ['a', 'b', 'c'];
    for (const name of streams) await log.createStream(name, { shardCount: 40 });
    const before = await openFds();
    // Two rounds: the second writes into shards whose files the cache closed in the first.
    for (let round = 0; round < 2; round++) {
      for (const name of streams) {
        const { shards } = await log.describeStream(name);
        const results = await log.append(
          name,
          shards.map((s, i) => ({ partitionKey: `k${i}`, explicitHashKey: s.hashKeyRange.startingHashKey, data: Buffer.from(`{"round":${round},"shard":${i}}`) })),
        );
        expect(results.every((r) => r.ok)).toBe(true);
        expect(new Set(results.map((r) => (r.ok ? r.shardId : ''))).size).toBe(shards.length);
      }
    }
    // Reopened, the log has no batch in memory: every read below goes to a segment file.
    await log.close();
    log = await openEmbeddedLog({ dir, fsync: 'always', maxOpenFiles, segmentBytes: 4096 });
    for (const name of streams) {
      for (const s of (await log.describeStream(name)).shards) {
        const { records } = await log.read(name, s.shardId, { type: 'TRIM_HORIZON' });
        expect(records.map((r) => Buffer.from(r.data).toString())).toEqual([0, 1].map((round) => `{"round":${round},"shard":${Number(s.shardId.slice(-12))}}`));
      }
    }
    // 120 shards written and read; the log holds at most its cap (a few more may be other fds of the process).
    expect((await openFds()) - before).toBeLessThanOrEqual(maxOpenFiles + 4);
    await log.append('a', [{ partitionKey: 'k', data: Buffer.from('{}') }]);
    expect((await openFds()) - before).toBeLessThanOrEqual(maxOpenFiles + 4);
  });
});
