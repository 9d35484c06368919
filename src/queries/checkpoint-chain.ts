/**
 * The checkpoints of one query: a full checkpoint and the deltas written after it (see docs/queries.md,
 * "Checkpoints"), kept in a `ChainMedium` (files in the query's folder, or rows in PostgreSQL, see
 * chain-medium.ts). Runs in the checkpoint thread (checkpoint-thread.ts), which keeps the query's state merged
 * up to its last checkpoint in memory, so a full checkpoint is written from there without asking the engine for
 * its whole state.
 *
 * checkpoint.bin             the newest full checkpoint (every task's merged state)
 * checkpoint.prev.bin        the full one before it, used when the newest is damaged or missing
 * delta-<base>-<id>.bin      checkpoint <id>: what changed since checkpoint <id - 1>, on top of full <base>
 *
 * Every blob is a state file (src/core/state-file.ts: kind, layout version, CRC32C) written atomically, so a
 * checkpoint is there whole or not at all. A restore takes the newest full checkpoint that reads back whole and
 * applies its deltas in order, stopping at the first one that is missing or damaged: the query resumes from
 * the last checkpoint it can read whole and replays the input after it.
 */
import { readFile } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { decodeStateFile, encodeStateFile } from '../core/state-file.ts';
import type { StateFormat } from '../core/state-file.ts';
import { mergeState, restorableState } from '../sql/runtime/keyed-state.ts';
import type { ChainMedium } from './chain-medium.ts';
import { unseal } from './sealed-state.ts';
import type { Checkpoint } from './types.ts';

/** Legacy checkpoints are bare `v8.serialize` output, which starts with its version tag 0xFF. */
const FULL_V1: StateFormat = { kind: 'query-checkpoint', version: 1, legacy: (b) => b[0] === 0xff };
const FULL: StateFormat = { kind: 'query-checkpoint', version: 2 };
const DELTA: StateFormat = { kind: 'query-checkpoint-delta', version: 1 };
export const CHECKPOINT = 'checkpoint.bin';
export const PREVIOUS_CHECKPOINT = 'checkpoint.prev.bin';
const DELTA_NAME = /^delta-(\d{1,15})-(\d{1,15})\.bin(\.tmp)?$/;

export function deltaName(base: number, id: number): string {
  return `delta-${base}-${id}.bin`;
}

export interface ChainSettings {
  /** Deltas after a full checkpoint at most; the checkpoint after them is full. */
  readonly maxDeltas: number;
}

export type ChainLog = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;

/** A checkpoint's content on disk: full, its states merged; delta, its states as the tasks reported them. */
interface StoredCheckpoint {
  readonly version: 2;
  readonly id: number;
  /** Delta only: the full checkpoint it applies on. */
  readonly base?: number;
  readonly takenAt: number;
  readonly states: Record<string, unknown>;
  readonly positions: Checkpoint['positions'];
  readonly sinks: Checkpoint['sinks'];
}

type Read<T> = { readonly value: T; readonly oldLayout: boolean } | { readonly damaged: string } | undefined;

export function ioError(what: string, err: unknown, context: Record<string, unknown>): TollstreamError {
  // A medium's own error (the shared store unreachable, the lease lost) says what happened already.
  if (isTollstreamError(err)) return err;
  return new TollstreamError('IO_ERROR', `${what}: ${err instanceof Error ? err.message : String(err)}; check the disk and the folder's permissions`, { cause: err, context });
}

/** The bytes of `file`, or undefined when it does not exist. */
export async function readIfExists(file: string, what: string, context: Record<string, unknown>): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(`cannot read ${what}`, err, { ...context, file });
  }
}

function decodeBody(body: Buffer): StoredCheckpoint | string {
  try {
    const value = deserialize(body) as StoredCheckpoint;
    if (typeof value !== 'object' || value === null || typeof value.id !== 'number' || typeof value.positions !== 'object' || typeof value.states !== 'object') {
      return 'it is not a checkpoint of a known layout';
    }
    return value;
  } catch (err) {
    return `it does not deserialize (${(err as Error).message})`;
  }
}

/** A full checkpoint file: this layout, or one written before deltas (layout 1, whose states are all whole). */
function decodeFull(bytes: Buffer | undefined): Read<StoredCheckpoint> {
  if (bytes === undefined) return undefined;
  let read = decodeStateFile(FULL, bytes);
  let oldLayout = false;
  if (!read.ok) {
    const v1 = decodeStateFile(FULL_V1, bytes);
    if (!v1.ok) return { damaged: read.detail.includes('layout version') ? v1.detail : read.detail };
    read = v1;
    oldLayout = true;
  }
  const value = decodeBody(read.body);
  if (typeof value === 'string') return { damaged: value };
  if (!oldLayout && value.version !== 2) return { damaged: 'it is not a checkpoint of a known layout' };
  return { value, oldLayout };
}

function decodeDelta(bytes: Buffer | undefined, base: number, id: number): Read<StoredCheckpoint> {
  if (bytes === undefined) return undefined;
  const read = decodeStateFile(DELTA, bytes);
  if (!read.ok) return { damaged: read.detail };
  const value = decodeBody(read.body);
  if (typeof value === 'string') return { damaged: value };
  if (value.version !== 2 || value.id !== id || value.base !== base) return { damaged: `it does not hold checkpoint ${id} on top of ${base}` };
  return { value, oldLayout: false };
}

const describe = (r: Read<unknown>): string => (r && 'damaged' in r ? `is damaged (${r.damaged})` : 'is missing');

export class CheckpointChain {
  /** Every task's state merged up to `lastId`, with the positions and sinks of that checkpoint; null before the first. */
  private merged: { states: Record<string, unknown>; positions: Checkpoint['positions']; sinks: Checkpoint['sinks'] } | null = null;
  private lastId = 0;
  /** The full checkpoint in `checkpoint.bin` the deltas apply on (0: none yet). */
  private baseId = 0;
  private deltas = 0;
  private chainBytes = 0;
  private fullBytes = 0;
  /** The next checkpoint is written whole: no full one yet, an old layout, the newest one damaged, or a write failed. */
  private forceFull = true;
  /** `checkpoint.bin` is damaged: the next full checkpoint replaces it instead of becoming the previous one. */
  private overwriteNewest = false;
  private opened = false;

  constructor(
    private readonly name: string,
    private readonly medium: ChainMedium,
    private readonly settings: ChainSettings,
    private readonly log: ChainLog,
  ) {}

  private file(name: string): string {
    return this.medium.where(name);
  }

  private read(name: string, what: string): Promise<Buffer | undefined> {
    return this.medium.read(name).catch((err: unknown) => {
      throw ioError(`cannot read ${what}`, err, { query: this.name, file: this.file(name) });
    });
  }

  /**
   * The newest checkpoint that reads back whole (full + its deltas in order), in the shape the engine restores
   * from; null when there is none. Deltas that are not part of it (after a damaged one, or of a full
   * checkpoint no longer kept) are removed, so the ids written next never meet a stale file.
   */
  async open(): Promise<Checkpoint | null> {
    const newestFile = this.file(CHECKPOINT);
    const previousFile = this.file(PREVIOUS_CHECKPOINT);
    const newestBytes = await this.read(CHECKPOINT, `the checkpoint of query ${this.name}`);
    const newest = decodeFull(newestBytes);
    let fullBytes = newestBytes?.length ?? 0;
    let full: StoredCheckpoint;
    let oldLayout = false;
    if (newest && 'value' in newest) {
      full = newest.value;
      oldLayout = newest.oldLayout;
      this.overwriteNewest = false;
    } else {
      const previousBytes = await this.read(PREVIOUS_CHECKPOINT, `the previous checkpoint of query ${this.name}`);
      const previous = decodeFull(previousBytes);
      fullBytes = previousBytes?.length ?? 0;
      if (!(previous && 'value' in previous)) {
        if (!newest && !previous) {
          await this.removeDeltas(() => true);
          this.reset();
          this.opened = true;
          return null;
        }
        throw new TollstreamError(
          'STATE_CORRUPT',
          `no checkpoint of query ${this.name} can be read: ${newestFile} ${describe(newest)}, ${previousFile} ${describe(previous)}; restore one from a backup, or drop and create the query again to start it afresh`,
          { context: { query: this.name, file: newestFile, previous: previousFile } },
        );
      }
      full = previous.value;
      oldLayout = previous.oldLayout;
      this.overwriteNewest = newest !== undefined;
      this.log('warn', 'the newest checkpoint cannot be used; resuming from the one before it', {
        query: this.name,
        file: newestFile,
        reason: newest ? newest.damaged : 'it is missing',
        checkpointId: full.id,
      });
    }
    // Merge the deltas of this full checkpoint, in order, up to the first that does not read back whole.
    const states: Record<string, unknown> = { ...full.states };
    let positions = full.positions;
    let sinks = full.sinks;
    let takenAt = full.takenAt;
    let lastId = full.id;
    let chainBytes = 0;
    const ids = (await this.listDeltas()).filter((d) => d.base === full.id && !d.tmp).map((d) => d.id).sort((a, b) => a - b);
    for (const id of ids) {
      const file = this.file(deltaName(full.id, id));
      const bytes = id === lastId + 1 ? await this.read(deltaName(full.id, id), `a checkpoint delta of query ${this.name}`) : undefined;
      const delta = decodeDelta(bytes, full.id, id);
      if (!(delta && 'value' in delta)) {
        this.log('warn', 'a checkpoint delta cannot be used; resuming from the checkpoint before it', {
          query: this.name,
          file: id === lastId + 1 ? file : this.file(deltaName(full.id, lastId + 1)),
          reason: id === lastId + 1 ? describe(delta).replace(/^is /, '') : 'it is missing',
          checkpointId: lastId,
        });
        break;
      }
      for (const [task, state] of Object.entries(delta.value.states)) states[task] = mergeState(states[task], state);
      positions = delta.value.positions;
      sinks = delta.value.sinks;
      takenAt = delta.value.takenAt;
      lastId = id;
      chainBytes += bytes!.length;
    }
    // Kept: this chain, and the deltas of the full checkpoint before a good newest one (the newest's fallback,
    // the highest base below it: each full write removes the deltas of older ones).
    const all = await this.listDeltas();
    const fallbackBase = newest && 'value' in newest ? Math.max(-1, ...all.filter((d) => d.base < full.id).map((d) => d.base)) : -1;
    await this.removeDeltas((d) => d.tmp || (d.base === full.id ? d.id > lastId : d.base !== fallbackBase));
    // A full checkpoint a crash cut short, never renamed into place.
    await this.medium.remove([`${CHECKPOINT}.tmp`]).catch((err: unknown) => {
      throw ioError(`cannot remove a checkpoint of query ${this.name} left half written`, err, { query: this.name, file: this.file(`${CHECKPOINT}.tmp`) });
    });

    this.merged = { states, positions, sinks };
    this.lastId = lastId;
    this.baseId = full.id;
    this.deltas = lastId - full.id;
    this.chainBytes = chainBytes;
    this.fullBytes = fullBytes;
    this.forceFull = oldLayout || this.overwriteNewest;
    this.opened = true;
    if (oldLayout && !this.overwriteNewest) {
      // Written by an older release (before checksums, or before deltas): rewritten at once in this layout.
      this.log('info', 'rewriting a checkpoint written in an older layout', { query: this.name, file: newestFile });
      await this.writeFull(lastId, takenAt, { overwrite: true });
    }
    return {
      version: 1,
      id: lastId,
      takenAt,
      states: Object.fromEntries(Object.entries(states).map(([task, state]) => [task, restorableState(state)])),
      positions,
      sinks,
    };
  }

  private reset(): void {
    this.merged = null;
    this.lastId = 0;
    this.baseId = 0;
    this.deltas = 0;
    this.chainBytes = 0;
    this.forceFull = true;
    this.overwriteNewest = false;
  }

  /**
   * Stores checkpoint `sent` (its states as the tasks reported them: keyed states only what changed; those of a
   * query thread still sealed, opened here) as the newest: a delta, or a full checkpoint after `maxDeltas` deltas, when the deltas add up to more than the full
   * one, and when the newest full one is damaged or missing. Returns the bytes written.
   */
  async save(sent: Checkpoint): Promise<{ bytes: number; full: boolean }> {
    if (!this.opened) await this.open();
    const cp = unseal(sent);
    const merged = this.merged ?? { states: {}, positions: {}, sinks: {} };
    for (const [task, state] of Object.entries(cp.states)) merged.states[task] = mergeState(merged.states[task], state);
    merged.positions = cp.positions;
    merged.sinks = cp.sinks;
    this.merged = merged;
    const consecutive = cp.id === this.lastId + 1;
    this.lastId = cp.id;
    try {
      if (this.forceFull || !consecutive || this.deltas + 1 > this.settings.maxDeltas || this.chainBytes > this.fullBytes) {
        return { bytes: await this.writeFull(cp.id, cp.takenAt, { overwrite: this.overwriteNewest }), full: true };
      }
      const stored: StoredCheckpoint = { version: 2, id: cp.id, base: this.baseId, takenAt: cp.takenAt, states: cp.states, positions: cp.positions, sinks: cp.sinks };
      const body = serialize(stored);
      const file = this.file(deltaName(this.baseId, cp.id));
      try {
        await this.medium.write(deltaName(this.baseId, cp.id), encodeStateFile(DELTA, body));
      } catch (err) {
        throw ioError(`cannot write a checkpoint delta of query ${this.name}`, err, { query: this.name, file });
      }
      this.deltas++;
      this.chainBytes += body.length;
      return { bytes: body.length, full: false };
    } catch (err) {
      // The merged state holds this checkpoint: the next one is written whole from it.
      this.forceFull = true;
      throw err;
    }
  }

  /** Writes the merged state as full checkpoint `id`; the newest full one becomes the previous one unless `overwrite`. */
  private async writeFull(id: number, takenAt: number, options: { overwrite: boolean }): Promise<number> {
    const m = this.merged!;
    const stored: StoredCheckpoint = { version: 2, id, takenAt, states: m.states, positions: m.positions, sinks: m.sinks };
    const body = serialize(stored);
    const file = this.file(CHECKPOINT);
    const previousBase = this.baseId;
    if (!options.overwrite) {
      try {
        // Between the two steps the previous checkpoint (and its deltas) is the newest there is, and `open` finds it.
        await this.medium.rename(CHECKPOINT, PREVIOUS_CHECKPOINT);
      } catch (err) {
        throw ioError(`cannot keep the previous checkpoint of query ${this.name}`, err, { query: this.name, file });
      }
    }
    try {
      await this.medium.write(CHECKPOINT, encodeStateFile(FULL, body));
    } catch (err) {
      throw ioError(`cannot write the checkpoint of query ${this.name}`, err, { query: this.name, file });
    }
    this.baseId = id;
    this.deltas = 0;
    this.chainBytes = 0;
    this.fullBytes = body.length;
    this.forceFull = false;
    this.overwriteNewest = false;
    // Deltas of a full checkpoint older than the previous one can no longer be used.
    await this.removeDeltas((d) => d.base !== previousBase && d.base !== id);
    return body.length;
  }

  private async listDeltas(): Promise<{ base: number; id: number; tmp: boolean; name: string }[]> {
    let names: string[];
    try {
      names = await this.medium.list();
    } catch (err) {
      throw ioError(`cannot list the checkpoints of query ${this.name}`, err, { query: this.name, file: this.file('') });
    }
    const out: { base: number; id: number; tmp: boolean; name: string }[] = [];
    for (const n of names) {
      const m = DELTA_NAME.exec(n);
      if (m) out.push({ base: Number(m[1]), id: Number(m[2]), tmp: m[3] !== undefined, name: n });
    }
    return out;
  }

  private async removeDeltas(which: (d: { base: number; id: number; tmp: boolean }) => boolean): Promise<void> {
    const gone = (await this.listDeltas()).filter(which);
    if (gone.length === 0) return;
    try {
      await this.medium.remove(gone.map((d) => d.name));
    } catch (err) {
      throw ioError(`cannot remove old checkpoint deltas of query ${this.name}`, err, { query: this.name, file: this.file('') });
    }
  }
}
