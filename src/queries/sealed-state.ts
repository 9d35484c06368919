/**
 * A task's state on its way from a query thread to the checkpoint thread. The query thread serializes it where
 * it was taken (`seal`) and the bytes are moved, not copied, from thread to thread; the main thread keeps them
 * with the checkpoint's positions and passes them on unopened, and the checkpoint thread opens them (`unseal`)
 * to merge and write them. So the main thread never spends the time to decode or re-encode a large state:
 * before, a 3.3 MB OVER-window state cost it hundreds of milliseconds per checkpoint (docs/benchmarks.md).
 */
import { deserialize, serialize } from 'node:v8';
import type { Checkpoint, SealedStates } from './types.ts';

/** `value` as structured-clone bytes that own their whole buffer, so the buffer can be transferred. */
export function seal(value: unknown): Uint8Array {
  const bytes = serialize(value);
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength ? bytes : new Uint8Array(bytes);
}

/** The buffers to move with these sealed states (each once). */
export function sealedTransferList(sealed: SealedStates | undefined): ArrayBuffer[] {
  if (!sealed) return [];
  const out = new Set<ArrayBuffer>();
  for (const bytes of [...Object.values(sealed.states), ...Object.values(sealed.sinks)]) out.add(bytes.buffer as ArrayBuffer);
  return [...out];
}

/** The checkpoint with its sealed states and key counters opened into `states` and `sinks`. */
export function unseal(cp: Checkpoint): Checkpoint {
  if (!cp.sealed) return cp;
  const states = { ...cp.states };
  const sinks = { ...cp.sinks };
  for (const [task, bytes] of Object.entries(cp.sealed.states)) states[task] = deserialize(bytes);
  for (const [output, bytes] of Object.entries(cp.sealed.sinks)) sinks[output] = deserialize(bytes);
  return { version: cp.version, id: cp.id, takenAt: cp.takenAt, states, positions: cp.positions, sinks };
}
