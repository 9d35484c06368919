import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedLog } from '../index.ts';
import type { AppendRecord, AppendResult, DedupeConfig, EmbeddedLogOptions, EmbeddedStreamLog } from '../index.ts';

const WINDOW_MS = 60_000;
const T0 = 50_000_000;
const TICKS = 30;

type Stored = Extract<AppendResult, { ok: true }>;

function stored(r: AppendResult | undefined): Stored {
  if (!r?.ok) throw new Error(`append failed: ${JSON.stringify(r)}`);
  return r;
}

describe('embedded log: the dedupe window after a restart', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-rebuild-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const modes: Array<[string, DedupeConfig, (key: string, n: number) => AppendRecord]> = [
    ['a field', { mode: 'field', field: 'id', windowSeconds: WINDOW_MS / 1000 }, (key, n) => ({ partitionKey: `p-${n}`, data: Buffer.from(JSON.stringify({ n, id: key })) })],
    ['an idempotency key', { mode: 'key', windowSeconds: WINDOW_MS / 1000 }, (key, n) => ({ partitionKey: `p-${n}`, data: Buffer.from(`record ${n}`), idempotencyKey: key })],
  ];

  /** Writes one key a tick into a 3-shard stream (ticks land on different shards), closes the log, reopens it. */
  async function writeAndReopen(dedupe: DedupeConfig, record: (key: string, n: number) => AppendRecord, extra: Partial<EmbeddedLogOptions>) {
    let clock = T0 - 45_000;
    // Small segments, so the rebuild reads sealed segments and the active one.
    const options: EmbeddedLogOptions = { dir, fsync: 'always', segmentBytes: 4096, indexIntervalBytes: 256, now: () => clock, ...extra };
    let log: EmbeddedStreamLog = await openEmbeddedLog(options);
    await log.createStream('s', { shardCount: 3, dedupe });
    let n = 0;
    const put = async (key: string): Promise<Stored> => stored((await log.append('s', [record(key, n++)]))[0]);
    // Outside the window by the time the log is reopened.
    const old = await put('old');
    const first = new Map<string, Stored>();
    const keys: string[] = [];
    for (let t = 0; t < TICKS; t++) {
      clock = T0 + t * 1000;
      keys.push(`k-${t}`);
      first.set(`k-${t}`, await put(`k-${t}`));
      if (t === 10) expect(await put('k-3')).toEqual({ ...first.get('k-3'), duplicate: true });
    }
    expect(new Set([...first.values()].map((r) => r.shardId)).size).toBeGreaterThanOrEqual(2);
    await log.close();
    clock = T0 + TICKS * 1000;
    log = await openEmbeddedLog(options);
    return {
      log,
      put,
      old,
      first,
      keys,
      setClock: (ms: number) => void (clock = ms),
    };
  }

  for (const [label, dedupe, record] of modes) {
    it(`remembers keys by ${label} across shards with interleaved arrivals, and forgets them in arrival order`, async () => {
      const { log, put, old, first, keys, setClock } = await writeAndReopen(dedupe, record, {});
      for (const [key, result] of first) expect(await put(key), key).toEqual({ ...result, duplicate: true });
      const again = await put('old');
      expect(again.duplicate).toBe(false);
      expect(again.sequenceNumber).not.toBe(old.sequenceNumber);
      // At the window's end past tick t, the key of tick t is forgotten and the next one is not.
      for (let t = 0; t < TICKS; t++) {
        setClock(T0 + t * 1000 + WINDOW_MS);
        if (t + 1 < TICKS) expect(await put(keys[t + 1]!), `${keys[t + 1]} at tick ${t}`).toEqual({ ...first.get(keys[t + 1]!), duplicate: true });
        const r = await put(keys[t]!);
        expect(r.duplicate, `${keys[t]} at tick ${t}`).toBe(false);
        expect(r.sequenceNumber).not.toBe(first.get(keys[t]!)!.sequenceNumber);
      }
      await log.close();
    });

    it(`keeps keys by ${label} in arrival order across shards, so the key bound forgets the oldest first`, async () => {
      const { log, put, first, keys } = await writeAndReopen(dedupe, record, { dedupeMaxKeys: TICKS });
      // The window is full; each new key makes it forget the oldest one.
      for (let t = 0; t < TICKS; t++) {
        expect((await put(`new-${t}`)).duplicate).toBe(false);
        if (t + 1 < TICKS) expect(await put(keys[t + 1]!), `${keys[t + 1]} after ${t + 1} new keys`).toEqual({ ...first.get(keys[t + 1]!), duplicate: true });
      }
      for (const key of keys) expect((await put(key)).duplicate, key).toBe(false);
      await log.close();
    });
  }
});
