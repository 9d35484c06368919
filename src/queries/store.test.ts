import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serialize } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.ts';
import { QueryStore } from './store.ts';
import type { Checkpoint, QueryDefinition } from './types.ts';

let dir: string;
let lines: Array<Record<string, unknown>>;
let store: QueryStore;

function checkpoint(id: number, offset: number): Checkpoint {
  return {
    version: 1,
    id,
    takenAt: 1_700_000_000_000 + id,
    states: { 'task-1': new Map([['C-0001', { cents: 12_345 * id }]]) },
    positions: { toll_transactions: { 'shardId-000000000000': `4000000000${String(offset).padStart(20, '0')}` } },
    sinks: {},
  };
}

const DEF: QueryDefinition = {
  name: 'spend',
  sql: 'SELECT 1',
  inputs: { tolls: 'toll_transactions' },
  outputs: {},
  errorStream: 'spend_errors',
  inferred: {},
  createdAt: 1,
  stopped: false,
};

/** Flips the low bit of a digit of the stored position: still a digit, so the bytes still deserialize. */
async function flipPositionDigit(file: string): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.toString('latin1').search(/4000000000\d{20}/);
  expect(at).toBeGreaterThan(0);
  bytes[at + 27] = bytes[at + 27]! ^ 0x01;
  await writeFile(file, bytes);
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-store-'));
  lines = [];
  store = new QueryStore(dir, createLogger({ level: 'info', write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) }));
  await store.saveDefinition(DEF);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('query checkpoints on disk', () => {
  it('refuse a checkpoint with a flipped bit in a stored position, resuming from the one before it', async () => {
    await store.saveCheckpoint('spend', checkpoint(1, 1200));
    await store.saveCheckpoint('spend', checkpoint(2, 3400));
    const file = path.join(dir, 'spend', 'checkpoint.bin');
    await flipPositionDigit(file);
    const loaded = await store.loadCheckpoint('spend');
    expect(loaded).toEqual(checkpoint(1, 1200));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', file, checkpointId: 1, reason: expect.stringContaining('CRC32C mismatch') }));
  });

  it('keep the good previous checkpoint when the next save replaces a damaged newest one', async () => {
    await store.saveCheckpoint('spend', checkpoint(1, 1200));
    await store.saveCheckpoint('spend', checkpoint(2, 3400));
    await flipPositionDigit(path.join(dir, 'spend', 'checkpoint.bin'));
    expect((await store.loadCheckpoint('spend'))?.id).toBe(1);
    await store.saveCheckpoint('spend', checkpoint(3, 3500));
    await flipPositionDigit(path.join(dir, 'spend', 'checkpoint.bin'));
    // The damaged #2 was not kept as the previous one: #1 still is.
    expect(await store.loadCheckpoint('spend')).toEqual(checkpoint(1, 1200));
  });

  it('refuse, naming both files, when no checkpoint reads back whole', async () => {
    await store.saveCheckpoint('spend', checkpoint(1, 1200));
    await store.saveCheckpoint('spend', checkpoint(2, 3400));
    await flipPositionDigit(path.join(dir, 'spend', 'checkpoint.bin'));
    await flipPositionDigit(path.join(dir, 'spend', 'checkpoint.prev.bin'));
    const err = await store.loadCheckpoint('spend').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'STATE_CORRUPT', context: { query: 'spend', file: path.join(dir, 'spend', 'checkpoint.bin') } });
    expect((err as Error).message).toContain('checkpoint.prev.bin is damaged (CRC32C mismatch');
  });

  it('use the previous checkpoint when a stop came between keeping it and writing the new one', async () => {
    await store.saveCheckpoint('spend', checkpoint(1, 1200));
    await store.saveCheckpoint('spend', checkpoint(2, 3400));
    await rm(path.join(dir, 'spend', 'checkpoint.bin'));
    expect(await store.loadCheckpoint('spend')).toEqual(checkpoint(1, 1200));
  });

  it('read a checkpoint written before checksums once, and rewrite it with one', async () => {
    const file = path.join(dir, 'spend', 'checkpoint.bin');
    await writeFile(file, serialize(checkpoint(7, 700)));
    expect(await store.loadCheckpoint('spend')).toEqual(checkpoint(7, 700));
    expect((await readFile(file, 'latin1')).startsWith('tollstream-state/1 query-checkpoint v1 ')).toBe(true);
    expect(await store.loadCheckpoint('spend')).toEqual(checkpoint(7, 700));
  });
});

describe('query definitions on disk', () => {
  it('refuse a damaged definition, naming the file', async () => {
    const file = path.join(dir, 'spend', 'definition.json');
    const bytes = await readFile(file);
    const at = bytes.indexOf('toll_transactions');
    bytes[at] = bytes[at]! ^ 0x20;
    await writeFile(file, bytes);
    await expect(store.listDefinitions()).rejects.toMatchObject({ code: 'STATE_CORRUPT', context: { file }, message: expect.stringContaining(file) });
  });

  it('read a definition written before checksums once, and rewrite it with one', async () => {
    await mkdir(path.join(dir, 'old'));
    const file = path.join(dir, 'old', 'definition.json');
    await writeFile(file, JSON.stringify({ ...DEF, name: 'old', createdAt: 2 }, null, 2) + '\n');
    expect((await store.listDefinitions()).map((d) => d.name)).toEqual(['spend', 'old']);
    expect((await readFile(file, 'utf8')).startsWith('tollstream-state/1 query-definition v1 ')).toBe(true);
  });
});
