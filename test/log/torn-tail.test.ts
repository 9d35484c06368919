/**
 * Recovery of the embedded log from interrupted writes and from damage: every possible cut through the
 * last batches must reopen with all complete batches and the torn bytes saved aside, while damage before
 * the tail must stop the open and name the file and byte position.
 */
import { readdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { checkBatch } from '../../src/log/batch.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import type { EmbeddedLogOptions } from '../../src/log/index.ts';

const SHARD = 'shardId-000000000000';
const BATCHES = 6;
const PER_BATCH = 3;

let dir: string;
let shardDir: string;
let segmentPath: string;
let original: Buffer;
/** Byte position where each batch starts, and the file's end. */
let boundaries: number[];

async function openLog(extra: Partial<EmbeddedLogOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'warn', write: (l) => void lines.push(l) });
  const log = await openEmbeddedLog({ dir, fsync: 'always', logger, ...extra });
  return { log, lines };
}

async function readAllData(log: Awaited<ReturnType<typeof openEmbeddedLog>>): Promise<string[]> {
  const out: string[] = [];
  const res = await log.read('s', SHARD, { type: 'TRIM_HORIZON' });
  for (const r of res.records) out.push(Buffer.from(r.data).toString());
  return out;
}

/** Puts `content` in place of the segment and removes what earlier runs left beside it. */
async function installSegment(content: Buffer): Promise<void> {
  for (const name of await readdir(shardDir)) if (name !== path.basename(segmentPath)) await rm(path.join(shardDir, name));
  await writeFile(segmentPath, content);
}

function expected(batches: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < batches; b++) for (let i = 0; i < PER_BATCH; i++) out.push(`b${b}-r${i}`);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-torn-'));
  const { log } = await openLog();
  await log.createStream('s');
  for (let b = 0; b < BATCHES; b++) {
    await log.append(
      's',
      Array.from({ length: PER_BATCH }, (_, i) => ({ partitionKey: `k${i}`, data: Buffer.from(`b${b}-r${i}`) })),
    );
  }
  await log.close();
  shardDir = path.join(dir, 'streams', 's', SHARD);
  segmentPath = path.join(shardDir, '00000000000000000000.log');
  original = await readFile(segmentPath);
  boundaries = [0];
  while (boundaries[boundaries.length - 1]! < original.length) {
    const check = checkBatch(original, boundaries[boundaries.length - 1]!, original.length, true);
    if (!check.ok) throw new Error(check.detail);
    boundaries.push(boundaries[boundaries.length - 1]! + check.header.size);
  }
  expect(boundaries).toHaveLength(BATCHES + 1);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('torn tail recovery', () => {
  it('reopens after a cut at every byte of the last three batches, keeping complete batches and saving the rest', async () => {
    const from = boundaries[BATCHES - 3]!;
    for (let cut = from; cut <= original.length; cut++) {
      await installSegment(original.subarray(0, cut));
      const complete = boundaries.filter((b) => b <= cut).length - 1;
      const { log, lines } = await openLog();
      expect(await readAllData(log), `cut at ${cut}`).toEqual(expected(complete));
      const torn = (await readdir(shardDir)).filter((n) => n.includes('.torn-'));
      if (cut === boundaries[complete]) {
        expect(torn, `cut at ${cut}`).toEqual([]);
        expect(lines).toEqual([]);
      } else {
        const start = boundaries[complete]!;
        expect(torn).toEqual([`00000000000000000000.log.torn-${start}`]);
        expect((await readFile(path.join(shardDir, torn[0]!))).equals(original.subarray(start, cut))).toBe(true);
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', offset: start, shardId: SHARD, stream: 's' });
      }
      // The shard takes appends again right after the kept records.
      const [r] = await log.append('s', [{ partitionKey: 'k', data: Buffer.from('after') }]);
      expect(r!.ok && BigInt(r!.sequenceNumber) % 10n ** 20n).toBe(BigInt(complete * PER_BATCH));
      await log.close();
    }
  });

  it('treats a final batch of zeros (a file extended before its data reached the disk) as torn', async () => {
    const start = boundaries[BATCHES - 1]!;
    const damaged = Buffer.from(original);
    damaged.fill(0, start);
    await installSegment(damaged);
    const { log, lines } = await openLog();
    expect(await readAllData(log)).toEqual(expected(BATCHES - 1));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', offset: start, savedTo: `00000000000000000000.log.torn-${start}` });
    await log.close();
  });

  it('refuses to open when a batch before the tail is damaged, naming the file and byte', async () => {
    const victim = boundaries[2]!;
    const cases: Array<[string, (b: Buffer) => void]> = [
      ['a flipped data byte', (b) => void (b[boundaries[3]! - 2] = b[boundaries[3]! - 2]! ^ 0x01)],
      ['a flipped length byte', (b) => void (b[victim + 9] = b[victim + 9]! ^ 0x40)],
      ['a flipped magic byte', (b) => void (b[victim + 12] = b[victim + 12]! ^ 0x01)],
    ];
    for (const [what, damage] of cases) {
      const damaged = Buffer.from(original);
      damage(damaged);
      await installSegment(damaged);
      let error: unknown;
      try {
        const { log } = await openLog();
        await log.close();
      } catch (err) {
        error = err;
      }
      expect(isTollstreamError(error, 'LOG_CORRUPT'), what).toBe(true);
      const e = error as { message: string; context: Record<string, unknown> };
      expect(e.message).toContain(segmentPath);
      expect(e.message).toContain(`byte ${victim}`);
      expect(e.context).toMatchObject({ file: segmentPath, offset: victim, stream: 's', shardId: SHARD });
      // Nothing was truncated or moved aside.
      expect((await readFile(segmentPath)).equals(damaged)).toBe(true);
    }
    await installSegment(original);
  });
});

describe('damage in a sealed segment', () => {
  it('is reported as LOG_CORRUPT naming the file when the damaged records are read', async () => {
    const sealedDir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-sealed-'));
    try {
      const options: EmbeddedLogOptions = { dir: sealedDir, fsync: 'always', segmentBytes: 512 };
      let log = await openEmbeddedLog(options);
      await log.createStream('s');
      for (let b = 0; b < 10; b++) await log.append('s', [{ partitionKey: 'k', data: Buffer.alloc(100, 65 + b) }]);
      await log.close();
      const shard = path.join(sealedDir, 'streams', 's', SHARD);
      const segments = (await readdir(shard)).filter((n) => n.endsWith('.log')).sort();
      expect(segments.length).toBeGreaterThan(2);
      const first = path.join(shard, segments[0]!);
      const bytes = await readFile(first);
      bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
      await writeFile(first, bytes);
      log = await openEmbeddedLog(options);
      let error: unknown;
      try {
        await log.read('s', SHARD, { type: 'TRIM_HORIZON' });
      } catch (err) {
        error = err;
      }
      expect(isTollstreamError(error, 'LOG_CORRUPT')).toBe(true);
      expect((error as { context: Record<string, unknown> }).context).toMatchObject({ file: first, shardId: SHARD });
      // Records in other segments stay readable.
      const later = await log.read('s', SHARD, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: `4${'0'.repeat(9)}${String(9).padStart(20, '0')}` });
      expect(Buffer.from(later.records[0]!.data).toString()).toBe('J'.repeat(100));
      await log.close();
    } finally {
      await rm(sealedDir, { recursive: true, force: true });
    }
  });
});
