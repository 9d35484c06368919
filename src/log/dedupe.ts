/**
 * Producer deduplication: finding a record's dedupe key and remembering keys for a time window.
 *
 * `mode: 'field'` reads a top-level string or number property of JSON record data with a single-pass
 * validating scanner over the bytes: no string is built except the value itself, which is several times
 * cheaper than `JSON.parse` and gives the same answer for valid JSON (the last occurrence of a repeated
 * property wins, as with `JSON.parse`). Text that is not a JSON object, or lacks the property, or has a
 * non-string, non-number value there, has no key and is never deduplicated.
 *
 * A string value is its decoded text; a number value is its literal text as written (`1.0` and `1` are
 * different keys, and big integers keep all their digits). A string and a number with the same text are the
 * same key.
 */
import { JSON_NUMBER, JSON_STRING, JsonFields, STRING_NON_ASCII, stringText } from '../core/json/index.ts';
import type { Logger } from '../core/logger.ts';
import type { DedupeStats } from './types.ts';

/** What `locate` found: no key, a key whose UTF-8 bytes are `[start, end)` of the data, or a decoded `text`. */
export const NO_KEY = 0;
export const KEY_BYTES = 1;
export const KEY_TEXT = 2;

/** Extracts a top-level property from JSON bytes; see the module comment. */
export class FieldExtractor {
  readonly field: string;
  private readonly scanner: JsonFields;
  /** After `locate` returned KEY_BYTES: the key's byte range in the data. */
  start = 0;
  end = 0;
  /** After `locate` returned KEY_TEXT: the key. */
  text = '';

  constructor(field: string) {
    this.field = field;
    this.scanner = new JsonFields([field]);
  }

  /** Finds the key of `data` without building a string when its bytes can serve as the key. */
  locate(data: Uint8Array): number {
    const scanner = this.scanner;
    const outcome = scanner.scan(data);
    if (outcome === 'too-deep') {
      const key = this.slowPath(data);
      if (key === undefined) return NO_KEY;
      this.text = key;
      return KEY_TEXT;
    }
    if (!scanner.isObject(outcome)) return NO_KEY;
    const kind = scanner.kind[0];
    if (kind === JSON_STRING && scanner.isEscaped(0)) {
      this.text = scanner.text(data, 0);
      return KEY_TEXT;
    }
    if (kind !== JSON_STRING && kind !== JSON_NUMBER) return NO_KEY;
    this.start = scanner.start[0]!;
    this.end = scanner.end[0]!;
    return KEY_BYTES;
  }

  /** The key of `data` as a string, or undefined. */
  extract(data: Uint8Array): string | undefined {
    const kind = this.locate(data);
    if (kind === NO_KEY) return undefined;
    return kind === KEY_TEXT ? this.text : stringText(data, this.start, this.end, STRING_NON_ASCII);
  }

  /** `JSON.parse` reference behaviour, used when the scanner declines (very deep nesting). */
  private slowPath(data: Uint8Array): string | undefined {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
    } catch {
      return undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(value, this.field)) return undefined;
    const v = (value as Record<string, unknown>)[this.field];
    // Numbers lose their literal text in JSON.parse; the scanner's rule (literal text) cannot be kept here.
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    return undefined;
  }
}

/** Keys longer than this (UTF-8 bytes) are not remembered: records with them are never deduplicated. */
export const MAX_DEDUPE_KEY_BYTES = 1024;

const textScratch = Buffer.alloc(MAX_DEDUPE_KEY_BYTES * 3 + 8);

/**
 * The keys seen within the window and where their first record lives (shard index, offset, arrival time).
 *
 * Everything sits in typed arrays, not in JS objects or strings: a ring of slots in arrival order (arrival
 * times only grow, so expiry pops the oldest end), a byte ring holding the keys' bytes, and an
 * open-addressing hash table (linear probing, backward-shift deletion) from key bytes to slot. Remembering
 * a key thus allocates nothing and leaves the garbage collector nothing to trace, however many keys the
 * window holds. Lookups compare the full key bytes, so a hash collision never makes two keys one.
 *
 * Bounded to `maxKeys`: past it the oldest keys are forgotten early (a retry of one of those would be
 * stored again). `evictedEarly` counts the keys forgotten while still within the window, `oldestKeyTime` gives
 * how far back the window really reaches, and `onCutShort` (set by the log, which owns a logger) is called when
 * the first key is forgotten early and then at most once every `CUT_SHORT_NOTICE_MS`, so the operator sees
 * the window shrink (at 1,000,000 keys and 3,600 s, above about 278 keys a second).
 *
 * Growing never stops the caller for a copy of the whole window. The slot arrays are allocated for `maxKeys` at
 * once, and the byte ring for `maxKeys` keys of 32 bytes: the rings fill them in order, so the operating system
 * maps their pages only as keys arrive (an idle window costs no memory for them), and `bytes` counts only the
 * part used. Only longer keys make the byte ring double (a few block copies). The hash table doubles
 * incrementally: the old table stays readable beside the new one, and each insert moves a few of its positions
 * over (`MIGRATE_PER_INSERT`), so the move ends long before the new table is half full.
 */
export class DedupeWindow {
  private capacity: number;
  private keyPos: Float64Array;
  private keyLen: Uint16Array;
  private hashes: Int32Array;
  private shards: Int32Array;
  private offsets: Float64Array;
  private times: Float64Array;
  /** 1 while the slot is the table's entry for its key. */
  private inTable: Uint8Array;
  /** Slot numbers grow forever; slot `n` lives at ring index `n % capacity`. */
  private head = 0;
  private tail = 0;
  private arena: Uint8Array;
  private arenaTail = 0;
  /**
   * Pairs (hash, ring index + 1), the index 0 when free; at most half full. Keeping the hash beside the
   * index lets a lookup of a new key (the common case) touch one cache line of the table and nothing else.
   */
  private table: Int32Array;
  /** Occupied pairs of `table`. */
  private used = 0;
  /**
   * While the table doubles: the previous table, whose positions from `cursor` on are not moved yet. A moved
   * or removed entry becomes a tombstone (index -1), which keeps the probe runs of the others unbroken.
   */
  private old: Int32Array | null = null;
  private cursor = 0;
  private live = 0;
  /** Keys forgotten for the key bound while still within the window. */
  evictedEarly = 0;
  /**
   * Called when a key is forgotten early: at the first one, then at most once every `CUT_SHORT_NOTICE_MS` of
   * arrival time, with the age (ms) of the key forgotten (the window's real reach then) and `evictedEarly`.
   */
  onCutShort: ((reachMs: number, evictedEarly: number) => void) | undefined;
  private noticedAt = Number.NEGATIVE_INFINITY;

  /** Keys remembered now. */
  get keys(): number {
    return this.live;
  }

  /**
   * Bytes of the window in memory: the slot arrays' part the ring has used (the rest is never touched), the key
   * bytes and the hash table(s). It grows to its bound, then stays.
   */
  get bytes(): number {
    const slots = Math.min(this.tail, this.capacity);
    const keyBytes = Math.min(this.arenaTail, this.arena.byteLength);
    return slots * BYTES_PER_SLOT + keyBytes + this.table.byteLength + (this.old?.byteLength ?? 0);
  }

  /** The key of the last `find`, kept for `insertFound`. */
  private lastBytes: Uint8Array = textScratch;
  private lastStart = 0;
  private lastLength = -1;
  private lastHash = 0;
  /** Table position of an expired entry of the last key, which `insertFound` replaces. */
  private lastStale = -1;
  /** Whether `lastStale` is a position of the old table (while it doubles). */
  private lastStaleOld = false;

  constructor(
    readonly windowMs: number,
    readonly maxKeys: number,
  ) {
    this.capacity = maxKeys;
    this.keyPos = new Float64Array(this.capacity);
    this.keyLen = new Uint16Array(this.capacity);
    this.hashes = new Int32Array(this.capacity);
    this.shards = new Int32Array(this.capacity);
    this.offsets = new Float64Array(this.capacity);
    this.times = new Float64Array(this.capacity);
    this.inTable = new Uint8Array(this.capacity);
    this.arena = new Uint8Array(arenaSizeFor(maxKeys * ARENA_BYTES_PER_KEY));
    this.table = new Int32Array(2 * tableSizeFor(Math.min(maxKeys, INITIAL_KEYS)));
  }

  /** Arrival time of the oldest key kept (ms), or undefined when the window holds none. */
  get oldestKeyTime(): number | undefined {
    return this.head < this.tail ? this.times[this.head % this.capacity] : undefined;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.live;
  }

  /**
   * Grows the window ahead of `keys` more keys of `keyBytes` bytes in all (a rebuild knows both), so adding
   * them does not copy the window at each doubling. It grows to the sizes adding them would have reached
   * (the table and the arena to a power of two), never past them.
   */
  presize(keys: number, keyBytes: number): void {
    const want = Math.min(this.tail - this.head + keys, this.maxKeys);
    const tableSize = tableSizeFor(want);
    if (2 * tableSize > this.table.length) this.rebuildTable(tableSize);
    // Past the bound the oldest keys leave the arena too: only about `maxKeys` keys' bytes are held at once.
    const held = keys > this.maxKeys ? (keyBytes / keys) * this.maxKeys : keyBytes;
    let size = this.arena.length;
    while (size < this.arenaTail - this.arenaHeadPos() + held) size *= 2;
    if (size > this.arena.length) this.growArenaTo(size);
  }

  /**
   * Looks up the key `bytes[start, end)`; returns its slot if it was seen within the window before `now`,
   * else -1. Remembers the key for `insertFound`.
   */
  find(bytes: Uint8Array, start: number, end: number, now: number): number {
    const length = end - start;
    this.lastStale = -1;
    if (length > MAX_DEDUPE_KEY_BYTES) {
      this.lastLength = -1;
      return -1;
    }
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    this.lastBytes = bytes;
    this.lastStart = start;
    this.lastLength = length;
    this.lastHash = h;
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    for (let t = h & mask; ; t = (t + 1) & mask) {
      const e = table[2 * t + 1]!;
      if (e === 0) break;
      const r = e - 1;
      if (table[2 * t] === h && this.keyLen[r] === length && this.sameKey(r, bytes, start, length)) {
        if (this.times[r]! > now - this.windowMs) return this.slotOf(r);
        this.lastStale = t;
        this.lastStaleOld = false;
        return -1;
      }
    }
    const old = this.old;
    if (old === null) return -1;
    const oldMask = (old.length >> 1) - 1;
    for (let t = h & oldMask; ; t = (t + 1) & oldMask) {
      const e: number = old[2 * t + 1]!;
      if (e === 0) return -1;
      if (e < 0) continue;
      const r = e - 1;
      if (old[2 * t] === h && this.keyLen[r] === length && this.sameKey(r, bytes, start, length)) {
        if (this.times[r]! > now - this.windowMs) return this.slotOf(r);
        this.lastStale = t;
        this.lastStaleOld = true;
        return -1;
      }
    }
  }

  /** `find` for a key given as text (an idempotency key, a decoded JSON string). */
  findText(key: string, now: number, encoding: 'utf8' | 'latin1' = 'utf8'): number {
    if (key.length > MAX_DEDUPE_KEY_BYTES) {
      this.lastLength = -1;
      this.lastStale = -1;
      return -1;
    }
    const n = textScratch.write(key, 0, encoding);
    return this.find(textScratch, 0, n, now);
  }

  /**
   * Remembers the key of the last `find` (which found nothing live) and returns its slot, or -1 when that
   * key cannot be remembered (too long). Must follow the `find` directly, before any other lookup.
   */
  insertFound(shardIndex: number, offset: number, time: number): number {
    const length = this.lastLength;
    if (length < 0) return -1;
    if (this.lastStale >= 0) {
      const table = this.lastStaleOld ? this.old! : this.table;
      const r = table[2 * this.lastStale + 1]! - 1;
      this.inTable[r] = 0;
      if (this.lastStaleOld) this.removeOldAt(this.lastStale);
      else this.removeAt(this.lastStale);
    }
    if (this.tail - this.head === this.capacity) {
      const reachMs = time - this.times[this.head % this.capacity]!;
      this.dropOldest();
      // A key already past the window was only waiting for `expire`: forgetting it cuts nothing short.
      if (reachMs < this.windowMs) {
        this.evictedEarly++;
        if (this.onCutShort !== undefined && time - this.noticedAt >= CUT_SHORT_NOTICE_MS) {
          this.noticedAt = time;
          this.onCutShort(reachMs, this.evictedEarly);
        }
      }
    }
    if (this.old !== null) this.migrate(MIGRATE_PER_INSERT);
    else if (2 * (this.used + 1) > this.table.length >> 1) this.startDoubling();
    const pos = this.reserve(length);
    const arena = this.arena;
    const at = pos & (arena.length - 1);
    // `lastBytes` may be the shared scratch buffer; it still holds the key (no lookup ran since `find`).
    const from = this.lastBytes;
    const start = this.lastStart;
    if (length <= 64) for (let i = 0; i < length; i++) arena[at + i] = from[start + i]!;
    else arena.set(from.subarray(start, start + length), at);
    const slot = this.tail++;
    const r = slot % this.capacity;
    this.keyPos[r] = pos;
    this.keyLen[r] = length;
    this.hashes[r] = this.lastHash;
    this.shards[r] = shardIndex;
    this.offsets[r] = offset;
    this.times[r] = time;
    this.inTable[r] = 1;
    this.arenaTail = pos + length;
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    let t = this.lastHash & mask;
    while (table[2 * t + 1] !== 0) t = (t + 1) & mask;
    table[2 * t] = this.lastHash;
    table[2 * t + 1] = r + 1;
    this.used++;
    this.live++;
    this.lastLength = -1;
    return slot;
  }

  /** Remembers `key` unless it is already remembered within the window (the first record wins). */
  add(key: string, shardIndex: number, offset: number, time: number, encoding: 'utf8' | 'latin1' = 'utf8'): void {
    if (this.findText(key, time, encoding) >= 0) return;
    this.insertFound(shardIndex, offset, time);
  }

  shardIndexOf(slot: number): number {
    return this.shards[slot % this.capacity]!;
  }

  /** The first record's offset; negative while it is a placeholder. */
  offsetOf(slot: number): number {
    return this.offsets[slot % this.capacity]!;
  }

  /** Completes a slot (a placeholder gets its record's place once the batch has offsets). */
  update(slot: number, shardIndex: number, offset: number, time: number): void {
    if (slot < this.head) return; // forgotten early (the bound), nothing to complete
    const r = slot % this.capacity;
    this.shards[r] = shardIndex;
    this.offsets[r] = offset;
    // Arrival times of a stream's shards may differ by a little; keep the ring ordered for expiry.
    const before = slot > this.head ? this.times[(slot - 1) % this.capacity]! : time;
    this.times[r] = Math.max(time, before);
  }

  /** Forgets the key of `slot` (its record was not stored after all). */
  forget(slot: number): void {
    if (slot < this.head || slot >= this.tail) return;
    const r = slot % this.capacity;
    if (this.inTable[r] !== 1) return;
    this.inTable[r] = 0;
    this.removeEntry(r);
  }

  /** Forgets keys older than the window. Cheap when nothing expired: it looks at the oldest key only. */
  expire(now: number): void {
    const limit = now - this.windowMs;
    while (this.head < this.tail && this.times[this.head % this.capacity]! <= limit) this.dropOldest();
  }

  private slotOf(r: number): number {
    // The live slots are head..tail-1; exactly one of them maps to ring index r.
    const base = this.head - (this.head % this.capacity);
    const slot = base + r;
    return slot >= this.head ? slot : slot + this.capacity;
  }

  private sameKey(r: number, bytes: Uint8Array, start: number, length: number): boolean {
    const arena = this.arena;
    const at = this.keyPos[r]! & (arena.length - 1);
    for (let i = 0; i < length; i++) if (arena[at + i] !== bytes[start + i]) return false;
    return true;
  }

  private dropOldest(): void {
    const r = this.head % this.capacity;
    if (this.inTable[r] === 1) {
      this.inTable[r] = 0;
      this.removeEntry(r);
    }
    this.head++;
  }

  /** Removes the table entry of ring index `r`, from whichever table holds it. */
  private removeEntry(r: number): void {
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    for (let t = this.hashes[r]! & mask; table[2 * t + 1] !== 0; t = (t + 1) & mask) {
      if (table[2 * t + 1] === r + 1) return this.removeAt(t);
    }
    // Not moved yet: it is in the old table (an entry is in exactly one of them).
    const old = this.old!;
    const oldMask = (old.length >> 1) - 1;
    for (let t = this.hashes[r]! & oldMask; ; t = (t + 1) & oldMask) {
      if (old[2 * t + 1] === r + 1) return this.removeOldAt(t);
    }
  }

  /** Removes an entry of the old table: a tombstone, since moving entries back would break the move's order. */
  private removeOldAt(t: number): void {
    this.old![2 * t + 1] = -1;
    this.live--;
  }

  /** Starts doubling the table: the current one becomes the old one, read beside the new until moved over. */
  private startDoubling(): void {
    this.old = this.table;
    this.cursor = 0;
    this.table = new Int32Array(2 * this.table.length);
    this.used = 0;
  }

  /** Moves up to `positions` positions of the old table into the new one; drops the old table at its end. */
  private migrate(positions: number): void {
    const old = this.old!;
    const end = Math.min(old.length >> 1, this.cursor + positions);
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    for (let c = this.cursor; c < end; c++) {
      const e = old[2 * c + 1]!;
      if (e <= 0) continue;
      const h = old[2 * c]!;
      let t = h & mask;
      while (table[2 * t + 1] !== 0) t = (t + 1) & mask;
      table[2 * t] = h;
      table[2 * t + 1] = e;
      old[2 * c + 1] = -1;
      this.used++;
    }
    this.cursor = end;
    if (end === old.length >> 1) this.old = null;
  }

  /** A table of `size` pairs holding every live key, built at once (a rebuild at open, ahead of its keys). */
  private rebuildTable(size: number): void {
    const table = new Int32Array(2 * size);
    const mask = size - 1;
    for (let slot = this.head; slot < this.tail; slot++) {
      const r = slot % this.capacity;
      if (this.inTable[r] !== 1) continue;
      let t = this.hashes[r]! & mask;
      while (table[2 * t + 1] !== 0) t = (t + 1) & mask;
      table[2 * t] = this.hashes[r]!;
      table[2 * t + 1] = r + 1;
    }
    this.table = table;
    this.used = this.live;
    this.old = null;
  }

  /** Linear-probing deletion: shift later entries of the probe run back so lookups still find them. */
  private removeAt(t: number): void {
    const table = this.table;
    const mask = (table.length >> 1) - 1;
    let hole = t;
    for (let j = (t + 1) & mask; table[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = table[2 * j]! & mask;
      // Move entry j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        table[2 * hole] = table[2 * j]!;
        table[2 * hole + 1] = table[2 * j + 1]!;
        hole = j;
      }
    }
    table[2 * hole] = 0;
    table[2 * hole + 1] = 0;
    this.used--;
    this.live--;
  }

  /** Absolute arena position for a key of `length` bytes, growing the arena when full. */
  private reserve(length: number): number {
    for (;;) {
      const size = this.arena.length;
      const headPos = this.head < this.tail ? this.keyPos[this.head % this.capacity]! : this.arenaTail;
      let pos = this.arenaTail;
      const at = pos & (size - 1);
      if (at + length > size) pos += size - at; // keys never wrap: skip to the start of the ring
      if (pos + length - headPos <= size) return pos;
      this.growArena();
    }
  }

  private arenaHeadPos(): number {
    return this.head < this.tail ? this.keyPos[this.head % this.capacity]! : this.arenaTail;
  }

  private growArena(): void {
    this.growArenaTo(this.arena.length * 2);
  }

  /**
   * Copies the live bytes, positions `[oldest key, arenaTail)`, so each byte keeps its absolute position: a few
   * block copies where the old or the new ring wraps, not one per key (a window of a million keys grew with a
   * million copies on the main thread). A key never crosses the old ring's end, so it never crosses the new one's.
   */
  private growArenaTo(size: number): void {
    const old = this.arena;
    const arena = new Uint8Array(size);
    const oldMask = old.length - 1;
    const mask = arena.length - 1;
    for (let p = this.arenaHeadPos(); p < this.arenaTail; ) {
      const from = p & oldMask;
      const to = p & mask;
      const n = Math.min(old.length - from, arena.length - to, this.arenaTail - p);
      arena.set(old.subarray(from, from + n), to);
      p += n;
    }
    this.arena = arena;
  }
}

/** Shortest time between two `onCutShort` calls of one window (arrival time). */
export const CUT_SHORT_NOTICE_MS = 10 * 60_000;
/** Keys the first table is sized for; it doubles from there (incrementally) up to what `maxKeys` needs. */
const INITIAL_KEYS = 4096;
/** Old table positions moved per insert while the table doubles: the move ends within a quarter of the old size in inserts. */
const MIGRATE_PER_INSERT = 4;
/** keyPos, offsets, times (8 bytes each), keyLen (2), hashes, shards (4 each), inTable (1). */
const BYTES_PER_SLOT = 35;
/** Key bytes the first byte ring holds per key of the bound (transaction ids are shorter). */
const ARENA_BYTES_PER_KEY = 32;

/** The byte ring's first size: a power of two from 64 KiB to 256 MiB (past that it doubles as keys come). */
function arenaSizeFor(bytes: number): number {
  let size = 64 * 1024;
  while (size < bytes && size < 256 * 1024 * 1024) size *= 2;
  return size;
}

function tableSizeFor(capacity: number): number {
  let size = 16;
  while (size < capacity * 2) size *= 2;
  return size;
}

/** What `/metrics` shows of a stream's window at `now` (ms). */
export function dedupeStats(stream: string, window: DedupeWindow, now: number): DedupeStats {
  const oldest = window.oldestKeyTime;
  const reachMs = oldest === undefined ? 0 : Math.min(window.windowMs, Math.max(0, now - oldest));
  return { stream, keys: window.keys, bytes: window.bytes, evictedEarly: window.evictedEarly, effectiveWindowSeconds: reachMs / 1000 };
}

/** Logs a warning when the key bound starts cutting the window of `stream` short (rate-limited by the window). */
export function warnWhenCutShort(window: DedupeWindow, stream: string, logger: Logger): void {
  window.onCutShort = (reachMs, evictedEarly) => {
    logger.warn('the dedupe window is cut short by its key bound: retries older than its reach would be stored again', {
      stream,
      windowSeconds: window.windowMs / 1000,
      reachSeconds: Math.round(reachMs / 1000),
      maxKeys: window.maxKeys,
      evictedEarly,
    });
  };
}
