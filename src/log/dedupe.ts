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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Deeper nesting than this is handed to `JSON.parse` rather than recursed into. */
const MAX_DEPTH = 512;
/** Set by `skipString`: 1 if the string had an escape, 2 if it had a non-ASCII byte (bits). */
let stringFlags = 0;
/** Set by `skipValue` when nesting went past MAX_DEPTH. */
let tooDeep = false;

/** Extracts a top-level property from JSON bytes; see the module comment. */
export class FieldExtractor {
  readonly field: string;
  private readonly fieldBytes: Uint8Array;

  constructor(field: string) {
    this.field = field;
    this.fieldBytes = new Uint8Array(Buffer.from(field, 'utf8'));
  }

  extract(data: Uint8Array): string | undefined {
    tooDeep = false;
    const result = scanTop(data, this.fieldBytes, this.field);
    return tooDeep ? this.slowPath(data) : result;
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

function text(b: Uint8Array, start: number, end: number, encoding: 'latin1' | 'utf8'): string {
  return (b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString(encoding, start, end);
}

/** Decodes the string whose contents are `[start, end)` given the flags `skipString` left. */
function decodeString(b: Uint8Array, start: number, end: number, flags: number): string {
  if (flags & 1) return JSON.parse(text(b, start - 1, end + 1, 'utf8')) as string;
  return text(b, start, end, flags & 2 ? 'utf8' : 'latin1');
}

function ws(b: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const c = b[p]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    p++;
  }
  return p;
}

/** Returns undefined for no key, including for any invalid JSON. */
function scanTop(b: Uint8Array, field: Uint8Array, fieldText: string): string | undefined {
  const end = b.length;
  let p = ws(b, 0, end);
  if (b[p] !== 0x7b) return undefined;
  p = ws(b, p + 1, end);
  let found: string | undefined;
  if (b[p] === 0x7d) {
    p++;
  } else {
    for (;;) {
      if (b[p] !== QUOTE) return undefined;
      const keyStart = p + 1;
      p = skipString(b, p, end);
      if (p < 0) return undefined;
      const keyEnd = p - 1;
      let isField: boolean;
      if (stringFlags & 1) {
        isField = decodeString(b, keyStart, keyEnd, stringFlags) === fieldText;
      } else if (keyEnd - keyStart !== field.length) {
        isField = false;
      } else {
        isField = true;
        for (let i = 0; i < field.length; i++) {
          if (b[keyStart + i] !== field[i]) {
            isField = false;
            break;
          }
        }
      }
      p = ws(b, p, end);
      if (b[p] !== 0x3a) return undefined;
      p = ws(b, p + 1, end);
      const valueStart = p;
      const c = b[p]!;
      p = skipValue(b, p, end, 0);
      if (p < 0) return undefined;
      if (isField) {
        if (c === QUOTE) found = decodeString(b, valueStart + 1, p - 1, stringFlags);
        else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) found = text(b, valueStart, p, 'latin1');
        else found = undefined;
      }
      p = ws(b, p, end);
      const sep = b[p];
      p++;
      if (sep === 0x7d) break;
      if (sep !== 0x2c) return undefined;
      p = ws(b, p, end);
    }
  }
  return ws(b, p, end) === end ? found : undefined;
}

/** Bytes that end the fast scan of a string's contents: 1 for a quote, backslash or control byte, 2 for non-ASCII. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[QUOTE] = 1;
STRING_STOP[BACKSLASH] = 1;
for (let c = 0x80; c < 0x100; c++) STRING_STOP[c] = 2;

/** At an opening quote: returns the position after the closing one, or -1; sets `stringFlags`. */
function skipString(b: Uint8Array, p: number, end: number): number {
  const stop = STRING_STOP;
  let flags = 0;
  p++;
  for (;;) {
    while (p < end && stop[b[p]!] === 0) p++;
    if (p >= end) return -1;
    const c = b[p]!;
    if (c === QUOTE) {
      stringFlags = flags;
      return p + 1;
    }
    if (c >= 0x80) {
      flags |= 2;
      p++;
      continue;
    }
    if (c !== BACKSLASH) return -1;
    flags |= 1;
    const e = b[p + 1];
    if (e === 0x75) {
      for (let k = 2; k < 6; k++) if (!isHex(b[p + k])) return -1;
      p += 6;
      continue;
    }
    if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
    p += 2;
  }
}

function skipValue(b: Uint8Array, p: number, end: number, depth: number): number {
  const c = b[p];
  if (c === QUOTE) return skipString(b, p, end);
  if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return skipNumber(b, p);
  if (c === 0x7b || c === 0x5b) {
    if (depth >= MAX_DEPTH) {
      tooDeep = true;
      return -1;
    }
    return c === 0x7b ? skipObject(b, p, end, depth + 1) : skipArray(b, p, end, depth + 1);
  }
  if (c === 0x74) return literal(b, p, TRUE);
  if (c === 0x66) return literal(b, p, FALSE);
  if (c === 0x6e) return literal(b, p, NULL);
  return -1;
}

function literal(b: Uint8Array, p: number, word: readonly number[]): number {
  for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) return -1;
  return p + word.length;
}

function skipNumber(b: Uint8Array, p: number): number {
  if (b[p] === 0x2d) p++;
  if (b[p] === 0x30) p++;
  else if (isDigit19(b[p])) while (isDigit(b[p])) p++;
  else return -1;
  if (b[p] === 0x2e) {
    p++;
    if (!isDigit(b[p])) return -1;
    while (isDigit(b[p])) p++;
  }
  if (b[p] === 0x65 || b[p] === 0x45) {
    p++;
    if (b[p] === 0x2b || b[p] === 0x2d) p++;
    if (!isDigit(b[p])) return -1;
    while (isDigit(b[p])) p++;
  }
  return p;
}

function skipObject(b: Uint8Array, p: number, end: number, depth: number): number {
  p = ws(b, p + 1, end);
  if (b[p] === 0x7d) return p + 1;
  for (;;) {
    if (b[p] !== QUOTE) return -1;
    p = skipString(b, p, end);
    if (p < 0) return -1;
    p = ws(b, p, end);
    if (b[p] !== 0x3a) return -1;
    p = skipValue(b, ws(b, p + 1, end), end, depth);
    if (p < 0) return -1;
    p = ws(b, p, end);
    const sep = b[p++];
    if (sep === 0x7d) return p;
    if (sep !== 0x2c) return -1;
    p = ws(b, p, end);
  }
}

function skipArray(b: Uint8Array, p: number, end: number, depth: number): number {
  p = ws(b, p + 1, end);
  if (b[p] === 0x5d) return p + 1;
  for (;;) {
    p = skipValue(b, p, end, depth);
    if (p < 0) return -1;
    p = ws(b, p, end);
    const sep = b[p++];
    if (sep === 0x5d) return p;
    if (sep !== 0x2c) return -1;
    p = ws(b, p, end);
  }
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}
function isDigit19(c: number | undefined): boolean {
  return c !== undefined && c >= 0x31 && c <= 0x39;
}
function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/**
 * The keys seen within the window and where their first record lives (shard index, offset, arrival time).
 *
 * Entries sit in a ring in arrival order (arrival times only grow), so expiry pops from the oldest end; a
 * Map from key to the entry's slot finds them. Slots are typed arrays, not objects, so remembering a key
 * costs no allocation besides the key string and keeps the garbage collector out of the append path.
 *
 * Bounded to `maxKeys`: past it the oldest keys are forgotten early (a retry of one of those would be
 * stored again); `evictedEarly` counts them so the operator can see it happen.
 */
export class DedupeWindow {
  private readonly map = new Map<string, number>();
  private keys: Array<string | undefined>;
  private shards: Int32Array;
  private offsets: Float64Array;
  private times: Float64Array;
  private capacity: number;
  /** Slot numbers grow forever; a slot lives at `slot % capacity` of the ring. */
  private head = 0;
  private tail = 0;
  evictedEarly = 0;

  constructor(
    readonly windowMs: number,
    readonly maxKeys: number,
  ) {
    this.capacity = Math.min(maxKeys, 4096);
    this.keys = new Array(this.capacity);
    this.shards = new Int32Array(this.capacity);
    this.offsets = new Float64Array(this.capacity);
    this.times = new Float64Array(this.capacity);
  }

  get size(): number {
    return this.map.size;
  }

  /** The slot of `key` if it was seen within the window before `now`, else -1. */
  find(key: string, now: number): number {
    const slot = this.map.get(key);
    if (slot === undefined) return -1;
    return this.times[slot % this.capacity]! > now - this.windowMs ? slot : -1;
  }

  shardIndexOf(slot: number): number {
    return this.shards[slot % this.capacity]!;
  }

  /** The first record's offset; negative while it is a placeholder (see `insert`). */
  offsetOf(slot: number): number {
    return this.offsets[slot % this.capacity]!;
  }

  /** Remembers `key` (replacing an expired entry) and returns its slot. */
  insert(key: string, shardIndex: number, offset: number, time: number): number {
    if (this.tail - this.head === this.capacity) {
      if (this.capacity < this.maxKeys) this.grow();
      else {
        this.dropOldest();
        this.evictedEarly++;
      }
    }
    const slot = this.tail++;
    const i = slot % this.capacity;
    this.keys[i] = key;
    this.shards[i] = shardIndex;
    this.offsets[i] = offset;
    this.times[i] = time;
    this.map.set(key, slot);
    return slot;
  }

  /** Completes a slot (a placeholder gets its record's place once the batch has offsets). */
  update(slot: number, shardIndex: number, offset: number, time: number): void {
    const i = slot % this.capacity;
    this.shards[i] = shardIndex;
    this.offsets[i] = offset;
    // Arrival times of a stream's shards may differ by a little; keep the ring ordered for expiry.
    const before = slot > this.head ? this.times[(slot - 1) % this.capacity]! : time;
    this.times[i] = Math.max(time, before);
  }

  /** Remembers `key` unless it is already remembered within the window (the first record wins). */
  add(key: string, shardIndex: number, offset: number, time: number): void {
    if (this.find(key, time) >= 0) return;
    this.insert(key, shardIndex, offset, time);
  }

  /** Forgets the key of `slot` (its record was not stored after all). */
  forget(slot: number): void {
    const key = this.keys[slot % this.capacity];
    if (key !== undefined && this.map.get(key) === slot) this.map.delete(key);
  }

  /** Forgets keys older than the window. Cheap when nothing expired: it looks at the oldest key only. */
  expire(now: number): void {
    const limit = now - this.windowMs;
    while (this.head < this.tail && this.times[this.head % this.capacity]! <= limit) this.dropOldest();
  }

  private dropOldest(): void {
    const i = this.head % this.capacity;
    const key = this.keys[i]!;
    if (this.map.get(key) === this.head) this.map.delete(key);
    this.keys[i] = undefined;
    this.head++;
  }

  private grow(): void {
    const capacity = Math.min(this.maxKeys, this.capacity * 2);
    const keys: Array<string | undefined> = new Array(capacity);
    const shards = new Int32Array(capacity);
    const offsets = new Float64Array(capacity);
    const times = new Float64Array(capacity);
    for (let slot = this.head; slot < this.tail; slot++) {
      const from = slot % this.capacity;
      const to = slot % capacity;
      keys[to] = this.keys[from];
      shards[to] = this.shards[from]!;
      offsets[to] = this.offsets[from]!;
      times[to] = this.times[from]!;
    }
    this.keys = keys;
    this.shards = shards;
    this.offsets = offsets;
    this.times = times;
    this.capacity = capacity;
  }
}
