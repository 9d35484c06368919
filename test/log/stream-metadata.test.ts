/**
 * Recovery of a stream whose metadata (`stream.json`) is missing or damaged: records are never deleted at
 * open. The metadata comes back from its copy, or the open stops naming the directory; only a directory
 * holding no record (a create that stopped early) is cleaned up.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import type { TollstreamError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import type { EmbeddedStreamLog } from '../../src/log/index.ts';

const RECORDS = 300;

let dir: string;
let streamDir: string;
let lines: string[];

async function openLog(): Promise<EmbeddedStreamLog> {
  lines = [];
  const logger = createLogger({ level: 'warn', write: (l) => void lines.push(l) });
  return openEmbeddedLog({ dir, fsync: 'always', logger });
}

async function openFails(): Promise<TollstreamError> {
  try {
    const log = await openLog();
    await log.close();
  } catch (err) {
    if (isTollstreamError(err)) return err;
    throw err;
  }
  throw new Error('the log opened');
}

async function allData(log: EmbeddedStreamLog, stream: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of (await log.describeStream(stream)).shards) {
    const res = await log.read(stream, shard.shardId, { type: 'TRIM_HORIZON' });
    for (const r of res.records) out.push(Buffer.from(r.data).toString());
  }
  return out.sort();
}

const expected = Array.from({ length: RECORDS }, (_, i) => `record-${String(i).padStart(4, '0')}`).sort();

/** Sizes of the segment files, to show nothing was truncated or removed. */
async function segmentSizes(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const shard of (await readdir(streamDir)).filter((n) => n.startsWith('shardId-'))) {
    for (const f of await readdir(path.join(streamDir, shard))) if (f.endsWith('.log')) out[`${shard}/${f}`] = (await stat(path.join(streamDir, shard, f))).size;
  }
  return out;
}

function flipByte(bytes: Buffer, at: number): Buffer {
  const out = Buffer.from(bytes);
  out[at] = out[at]! ^ 0x04;
  return out;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-meta-'));
  streamDir = path.join(dir, 'streams', 'tolls');
  const log = await openLog();
  await log.createStream('tolls', { shardCount: 3, retentionHours: 168, dedupe: { mode: 'key', windowSeconds: 60 } });
  for (let i = 0; i < RECORDS; i += 50) {
    await log.append(
      'tolls',
      Array.from({ length: 50 }, (_, k) => ({ partitionKey: `car-${i + k}`, data: Buffer.from(`record-${String(i + k).padStart(4, '0')}`), idempotencyKey: `id-${i + k}` })),
    );
  }
  await log.close();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a stream whose stream.json is missing or damaged', () => {
  it('is recovered from the copy when stream.json is missing, keeping every record and setting', async () => {
    await rm(path.join(streamDir, 'stream.json'));
    const log = await openLog();
    expect(await allData(log, 'tolls')).toEqual(expected);
    const d = await log.describeStream('tolls');
    expect(d).toMatchObject({ retentionHours: 168, dedupe: { mode: 'key', windowSeconds: 60 }, openShardCount: 3 });
    // The dedupe setting survived: a repeat is still recognised.
    const [again] = await log.append('tolls', [{ partitionKey: 'car-7', data: Buffer.from('repeat'), idempotencyKey: 'id-7' }]);
    expect(again).toMatchObject({ ok: true, duplicate: true });
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ level: 'warn', reason: 'stream.json is missing' }));
    await log.close();
    // stream.json was written again.
    expect((await readFile(path.join(streamDir, 'stream.json'), 'utf8')).startsWith('tollstream-state/1 stream-metadata v1 ')).toBe(true);
  });

  it('is recovered from the copy when a byte of stream.json is flipped', async () => {
    const file = path.join(streamDir, 'stream.json');
    const bytes = await readFile(file);
    // A digit of the retention, which would still parse as JSON.
    await writeFile(file, flipByte(bytes, bytes.indexOf('"retentionHours": 168') + 19));
    const log = await openLog();
    expect((await log.describeStream('tolls')).retentionHours).toBe(168);
    expect(await allData(log, 'tolls')).toEqual(expected);
    expect(lines.join('\n')).toContain('CRC32C mismatch');
    await log.close();
  });

  it('stops the open, naming the directory and keeping every segment, when neither file is there', async () => {
    const before = await segmentSizes();
    const saved = await readFile(path.join(streamDir, 'stream.json'));
    await rm(path.join(streamDir, 'stream.json'));
    await rm(path.join(streamDir, 'stream.copy.json'));
    const err = await openFails();
    expect(err.code).toBe('LOG_CORRUPT');
    expect(err.message).toContain(streamDir);
    expect(err.message).toContain('never deleted');
    expect(err.message).toContain('restore stream.json from a backup');
    expect(err.context).toMatchObject({ stream: 'tolls', file: streamDir });
    expect(await segmentSizes()).toEqual(before);
    // Restored from a backup, the stream opens with all its records: the refusal lost nothing.
    await writeFile(path.join(streamDir, 'stream.json'), saved);
    const log = await openLog();
    expect(await allData(log, 'tolls')).toEqual(expected);
    await log.close();
  });

  it('stops the open naming both files when both are damaged', async () => {
    for (const name of ['stream.json', 'stream.copy.json']) {
      const file = path.join(streamDir, name);
      const bytes = await readFile(file);
      await writeFile(file, flipByte(bytes, bytes.length - 10));
    }
    const err = await openFails();
    expect(err.code).toBe('LOG_CORRUPT');
    expect(err.message).toContain('stream.json is damaged: CRC32C mismatch');
    expect(err.message).toContain('stream.copy.json is damaged: CRC32C mismatch');
    expect(err.context).toMatchObject({ file: path.join(streamDir, 'stream.json') });
  });

  it('reads a stream.json written before checksums once, and rewrites it with its copy', async () => {
    const file = path.join(streamDir, 'stream.json');
    const body = (await readFile(file, 'utf8')).split('\n').slice(1).join('\n');
    await writeFile(file, body);
    await rm(path.join(streamDir, 'stream.copy.json'));
    const log = await openLog();
    expect(await allData(log, 'tolls')).toEqual(expected);
    await log.close();
    for (const name of ['stream.json', 'stream.copy.json']) {
      expect((await readFile(path.join(streamDir, name), 'utf8')).startsWith('tollstream-state/1 stream-metadata v1 ')).toBe(true);
    }
  });

  it('removes a stream directory that holds no record (a create that stopped before its metadata)', async () => {
    const half = path.join(dir, 'streams', 'half');
    await mkdir(path.join(half, 'shardId-000000000000'), { recursive: true });
    await writeFile(path.join(half, 'shardId-000000000000', '00000000000000000000.log'), '');
    const log = await openLog();
    expect((await log.listStreams()).map((s) => s.name)).toEqual(['tolls']);
    await expect(stat(half)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ level: 'warn', file: half, stream: 'half' }));
    await log.close();
  });

  it('stops the open when a shard directory with records is not named in stream.json', async () => {
    const stray = path.join(streamDir, 'shardId-000000000007');
    await mkdir(stray);
    await writeFile(path.join(stray, '00000000000000000000.log'), await readFile(path.join(streamDir, 'shardId-000000000000', '00000000000000000000.log')));
    const err = await openFails();
    expect(err.code).toBe('LOG_CORRUPT');
    expect(err.message).toContain(stray);
    await rm(path.join(stray, '00000000000000000000.log'));
    await writeFile(path.join(stray, '00000000000000000000.log'), '');
    // Without records it is an unfinished reshard's leftover, and goes.
    const log = await openLog();
    await expect(stat(stray)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await allData(log, 'tolls')).toEqual(expected);
    await log.close();
  });
});
