/**
 * kill -9 while checkpoints are being written: the process is killed the moment a checkpoint file's temporary
 * copy appears (so the kill lands in the middle of writing it), again and again, each run resuming the chain
 * the one before left. Every restore gives exactly the state of the last checkpoint reported durable, or of
 * the one after it (durable before it was reported), never a mix; a checkpoint cut short is ignored.
 */
import { spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QueryStore } from '../../src/queries/store.ts';
import type { KeyedState } from '../../src/sql/runtime/keyed-state.ts';
import { expectedAt } from './checkpoint-kill-data.ts';
import { tempDir } from './support.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** Runs the child until it is killed: at the `skip + 1`-th temporary checkpoint file it writes after its first save. */
async function runAndKill(dir: string, skip: number): Promise<{ lastSaved: number; restored: number; tmpLeft: string[] }> {
  const folder = path.join(dir, 'spend');
  await mkdir(folder, { recursive: true });
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), path.join(ROOT, 'test/queries/checkpoint-kill-child.ts'), dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let seen = 0;
  const watcher = watch(folder, (_event, name) => {
    if (!name?.endsWith('.tmp') || !out.includes('saved')) return;
    if (seen++ === skip) child.kill('SIGKILL');
  });
  const signal = await exited;
  watcher.close();
  expect(signal, `the child ended by itself: ${err}`).toBe('SIGKILL');
  const saved = [...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
  const restored = Number(/restored (\d+)/.exec(out)?.[1] ?? -1);
  return { lastSaved: saved.at(-1) ?? restored, restored, tmpLeft: (await readdir(folder)).filter((f) => f.endsWith('.tmp')) };
}

describe('checkpoints under kill -9', () => {
  it('a checkpoint cut short by kill -9 is ignored: the restore is the last durable checkpoint, whole', { timeout: 300_000 }, async () => {
    const { dir, cleanup } = await tempDir('queries-ckpt-kill-');
    cleanups.push(cleanup);
    const rounds: { lastSaved: number; restored: number; tmpLeft: string[] }[] = [];
    let lastSaved = 0;
    for (const skip of [0, 2, 1, 4, 3]) {
      const round = await runAndKill(dir, skip);
      // Each run resumed from what the run before it left durable.
      expect([lastSaved, lastSaved + 1]).toContain(round.restored);
      rounds.push(round);
      lastSaved = round.lastSaved;
      const store = new QueryStore(dir);
      const cp = await store.loadCheckpoint('spend');
      await store.close();
      // Opening the chain removed what the kill left half written.
      expect((await readdir(path.join(dir, 'spend'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect([lastSaved, lastSaved + 1]).toContain(cp!.id);
      // The whole state of that checkpoint, not a mix of two: every key carries the id of the last checkpoint that changed it.
      const entries = (cp!.states.agg as KeyedState).sections[0]!.set as Map<string, { accs: { v: number }[] }>;
      const expected = expectedAt(cp!.id);
      expect(entries.size).toBe(expected.size);
      let wrong = 0;
      for (const [k, id] of expected) if (entries.get(k)?.accs[0]!.v !== id) wrong++;
      expect(wrong).toBe(0);
      expect(cp!.positions).toEqual({ events: { shard: String(cp!.id) } });
      expect(cp!.states.source).toEqual({ offset: cp!.id * 100 });
    }
    console.log(`checkpoint kills: ${JSON.stringify(rounds)}`);
    // The kills landed while a checkpoint file was being written: its temporary copy was left behind.
    expect(rounds.some((r) => r.tmpLeft.length > 0)).toBe(true);
    // Kills landed while a delta was written and while a full checkpoint was.
    expect(rounds.some((r) => r.tmpLeft.some((f) => f.startsWith('delta-')))).toBe(true);
    expect(rounds.some((r) => r.tmpLeft.includes('checkpoint.bin.tmp'))).toBe(true);
  });
});
