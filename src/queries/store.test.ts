import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { serialize } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.ts';
import type { KeyedState } from '../sql/runtime/keyed-state.ts';
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

/** A keyed task state as an operator reports it: the entries changed since its previous checkpoint. */
function keyed(set: [string, unknown][]): KeyedState {
  return { keyed: 1, meta: { watermark: set.length }, dropped: [], sections: [{ name: 0, set, removed: [] }] };
}

/** Checkpoint `id` of a run where checkpoint i changes customers i*10 .. i*10+29 (of 1,000) and the first one writes them all. */
function incremental(id: number): Checkpoint {
  const set: [string, unknown][] = [];
  const changed = id === 1 ? Array.from({ length: 1000 }, (_, i) => i) : Array.from({ length: 30 }, (_, i) => (id * 10 + i) % 1000);
  for (const c of changed) set.push([`C-${c}`, { cents: c * 100 + id }]);
  return { ...checkpoint(id, id * 100), states: { agg: keyed(set), source: { offset: id } } };
}

/** What a restore from checkpoint `id` of that run gives: every customer with its last value. */
function restoredAt(id: number): Checkpoint {
  const all = new Map<string, unknown>();
  for (let i = 1; i <= id; i++) for (const [k, v] of (incremental(i).states.agg as KeyedState).sections[0]!.set) all.set(k as string, v);
  return { ...checkpoint(id, id * 100), states: { agg: { keyed: 1, meta: { watermark: id === 1 ? 1000 : 30 }, dropped: [], sections: [{ name: 0, set: all, removed: [] }] }, source: { offset: id } } };
}

function openStore(checkpointFullEvery?: number): QueryStore {
  const s = new QueryStore(dir, createLogger({ level: 'info', write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) }), { checkpointFullEvery });
  stores.push(s);
  return s;
}

const stores: QueryStore[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-store-'));
  lines = [];
  store = openStore(1);
  await store.saveDefinition(DEF);
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

const files = async () => (await readdir(path.join(dir, 'spend'))).filter((f) => f !== 'definition.json').sort();

describe('incremental query checkpoints on disk', () => {
  it('write deltas between full checkpoints, and restore the last full one plus its deltas in order', async () => {
    const s = openStore(3);
    const sizes: number[] = [];
    for (let id = 1; id <= 5; id++) sizes.push(await s.saveCheckpoint('spend', incremental(id)));
    // Full #1, deltas #2 #3 on it, full #4 (from the merged state), delta #5 on it.
    expect(await files()).toEqual(['checkpoint.bin', 'checkpoint.prev.bin', 'delta-1-2.bin', 'delta-1-3.bin', 'delta-4-5.bin']);
    expect(sizes[1]!).toBeLessThan(sizes[0]! / 10);
    expect(sizes[3]!).toBeGreaterThan(sizes[0]! * 0.9);
    expect(await openStore(3).loadCheckpoint('spend')).toEqual(restoredAt(5));
    // A restarted store goes on with the chain it read: #6 is a delta on #4.
    const again = openStore(3);
    expect((await again.loadCheckpoint('spend'))?.id).toBe(5);
    await again.saveCheckpoint('spend', incremental(6));
    expect(await files()).toContain('delta-4-6.bin');
    expect(await openStore(3).loadCheckpoint('spend')).toEqual(restoredAt(6));
  });

  it('ignore a damaged delta and those after it, resume from the checkpoint before it, and write over them', async () => {
    const s = openStore(10);
    for (let id = 1; id <= 5; id++) await s.saveCheckpoint('spend', incremental(id));
    const file = path.join(dir, 'spend', 'delta-1-4.bin');
    await flipPositionDigit(file);
    const reopened = openStore(10);
    expect(await reopened.loadCheckpoint('spend')).toEqual(restoredAt(3));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', file, checkpointId: 3, reason: expect.stringContaining('CRC32C mismatch') }));
    // The delta after the damaged one is gone: the next #4 and #5 are not mixed with the old #5.
    expect(await files()).toEqual(['checkpoint.bin', 'delta-1-2.bin', 'delta-1-3.bin']);
    const changed = { ...incremental(4), states: { agg: keyed([['C-7', { cents: 1 }]]), source: { offset: 4 } } };
    await reopened.saveCheckpoint('spend', changed);
    const loaded = await openStore(10).loadCheckpoint('spend');
    expect(loaded?.id).toBe(4);
    const entries = (loaded!.states.agg as KeyedState).sections[0]!.set as Map<string, unknown>;
    expect(entries.get('C-7')).toEqual({ cents: 1 });
    expect(entries.get('C-45')).toEqual({ cents: 4503 });
  });

  it('ignore a delta cut short (half its bytes), resuming from the checkpoint before it', async () => {
    const s = openStore(10);
    for (let id = 1; id <= 3; id++) await s.saveCheckpoint('spend', incremental(id));
    const file = path.join(dir, 'spend', 'delta-1-3.bin');
    await truncate(file, Math.floor((await stat(file)).size / 2));
    expect(await openStore(10).loadCheckpoint('spend')).toEqual(restoredAt(2));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', file, checkpointId: 2, reason: expect.stringContaining('truncated') }));
  });

  it('fall back to the previous full checkpoint and its deltas when the newest full one is damaged', async () => {
    const s = openStore(3);
    for (let id = 1; id <= 5; id++) await s.saveCheckpoint('spend', incremental(id));
    const file = path.join(dir, 'spend', 'checkpoint.bin');
    await flipPositionDigit(file);
    const reopened = openStore(3);
    expect(await reopened.loadCheckpoint('spend')).toEqual(restoredAt(3));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', file, checkpointId: 1, reason: expect.stringContaining('CRC32C mismatch') }));
    // The next checkpoint is written whole over the damaged one; the good previous one stays.
    await reopened.saveCheckpoint('spend', incremental(4));
    expect(await files()).toEqual(['checkpoint.bin', 'checkpoint.prev.bin', 'delta-1-2.bin', 'delta-1-3.bin']);
    expect(await openStore(3).loadCheckpoint('spend')).toEqual(restoredAt(4));
  });
});

describe('the checkpoint thread', () => {
  it('refuses a checkpoint whose state cannot be handed over, and goes on with the next', async () => {
    const s = openStore(3);
    const bad = { ...incremental(1), states: { agg: { run: () => 1 } } };
    await expect(s.saveCheckpoint('spend', bad)).rejects.toMatchObject({ code: 'INTERNAL', context: { query: 'spend' } });
    await s.saveCheckpoint('spend', incremental(1));
    expect(await openStore(3).loadCheckpoint('spend')).toEqual(restoredAt(1));
  });
});

describe('full query checkpoints on disk', () => {
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
    expect((await readFile(file, 'latin1')).startsWith('tollstream-state/1 query-checkpoint v2 ')).toBe(true);
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
