/**
 * A complete batch at the end of a shard whose bytes were damaged after it was acknowledged (and read) is not
 * a torn write: its records are set aside, and their offsets are never handed out again, so a consumer that
 * read them and resumes after them still gets every record appended since.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { checkBatch } from '../../src/log/batch.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import type { AppendResult, EmbeddedStreamLog } from '../../src/log/index.ts';

const SHARD = 'shardId-000000000000';
const BATCHES = 6;
const PER_BATCH = 3;
const HANDED_OUT = BATCHES * PER_BATCH;

let dir: string;
let shardDir: string;
let segmentPath: string;
let lines: string[];

async function openLog(): Promise<EmbeddedStreamLog> {
  lines = [];
  const logger = createLogger({ level: 'warn', write: (l) => void lines.push(l) });
  return openEmbeddedLog({ dir, fsync: 'always', logger });
}

function offsetOf(r: AppendResult | undefined): number {
  if (!r?.ok) throw new Error(`append failed: ${JSON.stringify(r)}`);
  return Number(BigInt(r.sequenceNumber) % 10n ** 20n);
}

async function readFrom(log: EmbeddedStreamLog, from: Parameters<EmbeddedStreamLog['read']>[2]): Promise<Array<[number, string]>> {
  const res = await log.read('s', SHARD, from);
  return res.records.map((r) => [Number(BigInt(r.sequenceNumber) % 10n ** 20n), Buffer.from(r.data).toString()]);
}

let lastBatchStart: number;
let original: Buffer;
/** What a consumer had read before the damage: every record, the last one at offset HANDED_OUT - 1. */
let seenBefore: Array<[number, string]>;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-damaged-'));
  shardDir = path.join(dir, 'streams', 's', SHARD);
  segmentPath = path.join(shardDir, '00000000000000000000.log');
  const log = await openLog();
  await log.createStream('s');
  for (let b = 0; b < BATCHES; b++) {
    await log.append('s', Array.from({ length: PER_BATCH }, (_, i) => ({ partitionKey: `k${i}`, data: Buffer.from(`b${b}-r${i}`) })));
  }
  seenBefore = await readFrom(log, { type: 'TRIM_HORIZON' });
  expect(seenBefore).toHaveLength(HANDED_OUT);
  await log.close();
  original = await readFile(segmentPath);
  let p = 0;
  for (let b = 0; b < BATCHES - 1; b++) {
    const c = checkBatch(original, p, original.length, true);
    if (!c.ok) throw new Error(c.detail);
    p += c.header.size;
  }
  lastBatchStart = p;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const damages: Array<[string, (b: Buffer, start: number) => void]> = [
  ['a flipped data byte', (b) => void (b[b.length - 2] = b[b.length - 2]! ^ 0x01)],
  ['a flipped record count', (b, start) => void (b[start + 22] = b[start + 22]! ^ 0x02)],
  ['a flipped timestamp byte', (b, start) => void (b[start + 30] = b[start + 30]! ^ 0x10)],
  ['a flipped length byte (the batch seems to run past the end)', (b, start) => void (b[start + 9] = b[start + 9]! ^ 0x40)],
  ['a flipped length byte (the batch seems one byte short)', (b, start) => void (b[start + 11] = b[start + 11]! ^ 0x01)],
  ['a flipped magic byte', (b, start) => void (b[start + 12] = b[start + 12]! ^ 0x01)],
  ['a flipped offset byte', (b, start) => void (b[start + 7] = b[start + 7]! ^ 0x01)],
  ['the batch garbled from its 20th byte', (b, start) => void b.fill(0xff, start + 20)],
  ['its records garbled, the header intact', (b, start) => void b.fill(0xff, start + 39)],
];

describe('a damaged complete batch at the end of a shard', () => {
  for (const [what, damage] of damages) {
    it(`never hands its offsets out again (${what})`, async () => {
      const damaged = Buffer.from(original);
      damage(damaged, lastBatchStart);
      await writeFile(segmentPath, damaged);

      let log = await openLog();
      // New records get offsets after every one handed out before.
      const results = await log.append('s', [0, 1, 2, 3].map((i) => ({ partitionKey: `k${i}`, data: Buffer.from(`new-${i}`) })));
      const newOffsets = results.map(offsetOf);
      for (const o of newOffsets) expect(o).toBeGreaterThanOrEqual(HANDED_OUT);
      expect(new Set(newOffsets).size).toBe(4);

      // A consumer resuming after the last record it read gets every new record, none skipped.
      const resumed = await readFrom(log, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: `4${'0'.repeat(9)}${String(HANDED_OUT - 1).padStart(20, '0')}` });
      expect(resumed.map(([, d]) => d)).toEqual(['new-0', 'new-1', 'new-2', 'new-3']);
      // One resuming inside the damaged batch too.
      const inside = await readFrom(log, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: `4${'0'.repeat(9)}${String(HANDED_OUT - 2).padStart(20, '0')}` });
      expect(inside.map(([, d]) => d)).toEqual(['new-0', 'new-1', 'new-2', 'new-3']);
      // From the start: the intact records, then the new ones; the damaged batch's are skipped.
      const all = await readFrom(log, { type: 'TRIM_HORIZON' });
      expect(all.map(([, d]) => d)).toEqual([...seenBefore.slice(0, HANDED_OUT - PER_BATCH).map(([, d]) => d), 'new-0', 'new-1', 'new-2', 'new-3']);

      // The damaged bytes are kept beside the segment, and the error names the file and byte.
      const saved = (await readdir(shardDir)).filter((n) => n.includes('.damaged-'));
      expect(saved).toEqual([`00000000000000000000.log.damaged-${lastBatchStart}`]);
      expect((await readFile(path.join(shardDir, saved[0]!))).equals(damaged.subarray(lastBatchStart))).toBe(true);
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 'error', file: segmentPath, offset: lastBatchStart, firstOffset: HANDED_OUT - PER_BATCH });
      expect(logged[0]!.reservedOffsets as number).toBeGreaterThanOrEqual(PER_BATCH);
      await log.close();

      // A second open keeps the gap (no new warning) and the same records.
      log = await openLog();
      expect((await readFrom(log, { type: 'TRIM_HORIZON' })).map(([, d]) => d)).toEqual(all.map(([, d]) => d));
      const [later] = await log.append('s', [{ partitionKey: 'k', data: Buffer.from('later') }]);
      expect(offsetOf(later)).toBe(newOffsets[3]! + 1);
      expect(lines).toEqual([]);
      await log.close();
    });
  }

  it('keeps the exact offsets of a batch whose record count is intact', async () => {
    const damaged = Buffer.from(original);
    damaged[damaged.length - 2] = damaged[damaged.length - 2]! ^ 0x01;
    await writeFile(segmentPath, damaged);
    const log = await openLog();
    const [r] = await log.append('s', [{ partitionKey: 'k', data: Buffer.from('next') }]);
    expect(offsetOf(r)).toBe(HANDED_OUT);
    await log.close();
  });

  it('stops the open naming the gap when the set-aside batch file is removed', async () => {
    const damaged = Buffer.from(original);
    damaged[damaged.length - 2] = damaged[damaged.length - 2]! ^ 0x01;
    await writeFile(segmentPath, damaged);
    let log = await openLog();
    await log.append('s', [{ partitionKey: 'k', data: Buffer.from('next') }]);
    await log.close();
    await rm(path.join(shardDir, `00000000000000000000.log.damaged-${lastBatchStart}`));
    let error: unknown;
    try {
      log = await openLog();
      await log.close();
    } catch (err) {
      error = err;
    }
    expect(isTollstreamError(error, 'LOG_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(`previous one ends at ${HANDED_OUT - PER_BATCH}`);
  });
  it('leaves a deduplicated stream whose window is rebuilt across the reserved offsets', async () => {
    const dedupeDir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-damaged-dedupe-'));
    try {
      const options = { dir: dedupeDir, fsync: 'always' as const };
      let log = await openEmbeddedLog(options);
      await log.createStream('d', { dedupe: { mode: 'key' } });
      for (let b = 0; b < 4; b++) await log.append('d', [{ partitionKey: 'k', data: Buffer.from(`b${b}`), idempotencyKey: `id-${b}` }]);
      await log.close();
      const file = path.join(dedupeDir, 'streams', 'd', SHARD, '00000000000000000000.log');
      const bytes = await readFile(file);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
      await writeFile(file, bytes);
      log = await openEmbeddedLog(options);
      await log.append('d', [{ partitionKey: 'k', data: Buffer.from('after'), idempotencyKey: 'id-after' }]);
      await log.close();
      // The next open rebuilds the window by reading across the gap.
      log = await openEmbeddedLog(options);
      const [repeat, again] = await log.append('d', [
        { partitionKey: 'k', data: Buffer.from('b1'), idempotencyKey: 'id-1' },
        { partitionKey: 'k', data: Buffer.from('after'), idempotencyKey: 'id-after' },
      ]);
      expect(repeat).toMatchObject({ ok: true, duplicate: true });
      expect(again).toMatchObject({ ok: true, duplicate: true });
      await log.close();
    } finally {
      await rm(dedupeDir, { recursive: true, force: true });
    }
  });
});
