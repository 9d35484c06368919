/** The checkpoints the checkpoint kill test writes, and the state a restore from each must give. */
import type { Checkpoint } from '../../src/queries/types.ts';
import type { KeyedState } from '../../src/sql/runtime/keyed-state.ts';

export const KEYS = 50_000;
/** Keys a checkpoint after the first changes (the first writes every key). */
const CHANGED = 10_000;

function changedBy(id: number): number[] {
  if (id === 1) return Array.from({ length: KEYS }, (_, k) => k);
  return Array.from({ length: CHANGED }, (_, j) => (id * 7919 + j * 5) % KEYS);
}

/** Checkpoint `id` as the tasks report it: the keys it changed, each with the id in its value. */
export function checkpointAt(id: number): Checkpoint {
  const state: KeyedState = { keyed: 1, meta: { watermark: id }, dropped: [], sections: [{ name: 0, set: changedBy(id).map((k) => [`k${k}`, { keys: [`k${k}`], accs: [{ v: id, n: id }] }]), removed: [] }] };
  return { version: 1, id, takenAt: 1_700_000_000_000 + id, states: { agg: state, source: { offset: id * 100 } }, positions: { events: { shard: String(id) } }, sinks: {} };
}

/** Per key, the id of the last checkpoint up to `id` that changed it. */
export function expectedAt(id: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 1; i <= id; i++) for (const k of changedBy(i)) out.set(`k${k}`, i);
  return out;
}
