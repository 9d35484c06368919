/**
 * Keyed operator state that checkpoints incrementally. An operator with many entries (the groups of a GROUP
 * BY, per window) reports at each checkpoint only the entries written since its previous checkpoint, the
 * entries removed, and the sections (windows) dropped whole, plus a small `meta` part given whole every time
 * (watermark, window bounds). The checkpoint store merges these deltas onto the last full state
 * (`mergeState`), and a restore hands the operator every entry in the same shape (`restorableState`): one
 * `restoreState` reads both a fresh delta chain's result and nothing else.
 *
 * Entry keys are the operator's own map keys (group keys as text or a single value). They only match entries
 * of the same query across checkpoints; a change of how an operator builds them needs a new checkpoint layout.
 */

export type EntryKey = string | number | boolean | null;
export type SectionName = string | number;

export interface KeyedSection {
  readonly name: SectionName;
  /** Entries written (created or changed) since the previous checkpoint; after a restore, every entry. */
  readonly set: Iterable<readonly [EntryKey, unknown]>;
  readonly removed: readonly EntryKey[];
}

/** What an operator with keyed state reports at a checkpoint, and takes back at a restore. */
export interface KeyedState {
  readonly keyed: 1;
  /** The small part of the state, whole at every checkpoint. */
  readonly meta: unknown;
  /** Sections gone since the previous checkpoint, with every entry in them (applied before `sections`). */
  readonly dropped: readonly SectionName[];
  readonly sections: readonly KeyedSection[];
}

/** A keyed state with every delta up to a checkpoint applied: what a full checkpoint stores. */
export interface MergedKeyedState {
  readonly keyed: 1;
  meta: unknown;
  readonly entries: Map<SectionName, Map<EntryKey, unknown>>;
}

export function isKeyedState(state: unknown): state is KeyedState {
  return typeof state === 'object' && state !== null && (state as { keyed?: unknown }).keyed === 1 && Array.isArray((state as KeyedState).sections);
}

function isMerged(state: unknown): state is MergedKeyedState {
  return typeof state === 'object' && state !== null && (state as { keyed?: unknown }).keyed === 1 && (state as MergedKeyedState).entries instanceof Map;
}

/**
 * A task's state after `next` (what the task reported at the following checkpoint) on top of `merged` (its
 * state at the one before). A keyed delta is applied in place; any other state replaces the one before.
 */
export function mergeState(merged: unknown, next: unknown): unknown {
  if (!isKeyedState(next)) return next;
  const out: MergedKeyedState = isMerged(merged) ? merged : { keyed: 1, meta: null, entries: new Map() };
  out.meta = next.meta;
  for (const name of next.dropped) out.entries.delete(name);
  for (const section of next.sections) {
    let entries = out.entries.get(section.name);
    if (!entries) {
      entries = new Map();
      out.entries.set(section.name, entries);
    }
    for (const key of section.removed) entries.delete(key);
    for (const [key, value] of section.set) entries.set(key, value);
  }
  return out;
}

/** What `restoreState` takes: a keyed state with every entry, or the state as it was reported. */
export function restorableState(merged: unknown): unknown {
  if (!isMerged(merged)) return merged;
  const sections: KeyedSection[] = [];
  for (const [name, entries] of merged.entries) sections.push({ name, set: entries, removed: [] });
  const state: KeyedState = { keyed: 1, meta: merged.meta, dropped: [], sections };
  return state;
}
