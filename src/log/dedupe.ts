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

/** Extracts a top-level property from JSON bytes; see the module comment. */
export class FieldExtractor {
  readonly field: string;
  private readonly fieldBytes: Buffer;
  private buf: Uint8Array = new Uint8Array(0);
  private p = 0;
  private end = 0;
  private tooDeep = false;

  constructor(field: string) {
    this.field = field;
    this.fieldBytes = Buffer.from(field, 'utf8');
  }

  extract(data: Uint8Array): string | undefined {
    this.buf = data;
    this.p = 0;
    this.end = data.length;
    this.tooDeep = false;
    let result: string | undefined;
    try {
      result = this.scanTop();
    } finally {
      this.buf = EMPTY;
    }
    if (this.tooDeep) return this.slowPath(data);
    return result;
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

  private ws(): void {
    const b = this.buf;
    let p = this.p;
    while (p < this.end) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.p = p;
  }

  /** Returns undefined for no key, including for any invalid JSON. */
  private scanTop(): string | undefined {
    const b = this.buf;
    this.ws();
    if (b[this.p] !== 0x7b) return undefined;
    this.p++;
    this.ws();
    let found: string | undefined;
    if (b[this.p] === 0x7d) {
      this.p++;
    } else {
      for (;;) {
        if (b[this.p] !== QUOTE) return undefined;
        const keyStart = this.p + 1;
        const keyEscaped = this.skipString();
        if (keyEscaped < 0) return undefined;
        const keyEnd = this.p - 1;
        const isField = keyEscaped === 1 ? this.decodeString(keyStart, keyEnd, true) === this.field : this.sameAsField(keyStart, keyEnd);
        this.ws();
        if (b[this.p] !== 0x3a) return undefined;
        this.p++;
        this.ws();
        const valueStart = this.p;
        const c = b[valueStart];
        if (!this.skipValue(0)) return undefined;
        if (isField) {
          if (c === QUOTE) found = this.decodeString(valueStart + 1, this.p - 1, this.hasBackslash(valueStart + 1, this.p - 1));
          else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) found = Buffer.from(b.buffer, b.byteOffset + valueStart, this.p - valueStart).toString('latin1');
          else found = undefined;
        }
        this.ws();
        const sep = b[this.p];
        this.p++;
        if (sep === 0x7d) break;
        if (sep !== 0x2c) return undefined;
        this.ws();
      }
    }
    this.ws();
    return this.p === this.end ? found : undefined;
  }

  private sameAsField(start: number, end: number): boolean {
    const f = this.fieldBytes;
    if (end - start !== f.length) return false;
    const b = this.buf;
    for (let i = 0; i < f.length; i++) if (b[start + i] !== f[i]) return false;
    return true;
  }

  private hasBackslash(start: number, end: number): boolean {
    const b = this.buf;
    for (let i = start; i < end; i++) if (b[i] === BACKSLASH) return true;
    return false;
  }

  private decodeString(start: number, end: number, escaped: boolean): string {
    const b = this.buf;
    const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    return escaped ? (JSON.parse(text.toString('utf8', start - 1, end + 1)) as string) : text.toString('utf8', start, end);
  }

  /** At an opening quote: moves past the closing one. Returns -1 if invalid, 1 if escapes were seen, else 0. */
  private skipString(): number {
    const b = this.buf;
    const end = this.end;
    let p = this.p + 1;
    let escaped = 0;
    while (p < end) {
      const c = b[p]!;
      if (c === QUOTE) {
        this.p = p + 1;
        return escaped;
      }
      if (c < 0x20) return -1;
      if (c === BACKSLASH) {
        escaped = 1;
        const e = b[p + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) if (!isHex(b[p + k])) return -1;
          p += 6;
          continue;
        }
        if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
        p += 2;
        continue;
      }
      p++;
    }
    return -1;
  }

  private skipValue(depth: number): boolean {
    const b = this.buf;
    const c = b[this.p];
    if (c === QUOTE) return this.skipString() >= 0;
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.skipNumber();
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_DEPTH) {
        this.tooDeep = true;
        return false;
      }
      return c === 0x7b ? this.skipObject(depth + 1) : this.skipArray(depth + 1);
    }
    if (c === 0x74) return this.literal(TRUE);
    if (c === 0x66) return this.literal(FALSE);
    if (c === 0x6e) return this.literal(NULL);
    return false;
  }

  private literal(word: readonly number[]): boolean {
    const b = this.buf;
    for (let i = 0; i < word.length; i++) if (b[this.p + i] !== word[i]) return false;
    this.p += word.length;
    return true;
  }

  private skipNumber(): boolean {
    const b = this.buf;
    let p = this.p;
    if (b[p] === 0x2d) p++;
    if (b[p] === 0x30) p++;
    else if (isDigit19(b[p])) while (isDigit(b[p])) p++;
    else return false;
    if (b[p] === 0x2e) {
      p++;
      if (!isDigit(b[p])) return false;
      while (isDigit(b[p])) p++;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      if (!isDigit(b[p])) return false;
      while (isDigit(b[p])) p++;
    }
    this.p = p;
    return true;
  }

  private skipObject(depth: number): boolean {
    const b = this.buf;
    this.p++;
    this.ws();
    if (b[this.p] === 0x7d) {
      this.p++;
      return true;
    }
    for (;;) {
      if (b[this.p] !== QUOTE || this.skipString() < 0) return false;
      this.ws();
      if (b[this.p] !== 0x3a) return false;
      this.p++;
      this.ws();
      if (!this.skipValue(depth)) return false;
      this.ws();
      const sep = b[this.p++];
      if (sep === 0x7d) return true;
      if (sep !== 0x2c) return false;
      this.ws();
    }
  }

  private skipArray(depth: number): boolean {
    const b = this.buf;
    this.p++;
    this.ws();
    if (b[this.p] === 0x5d) {
      this.p++;
      return true;
    }
    for (;;) {
      if (!this.skipValue(depth)) return false;
      this.ws();
      const sep = b[this.p++];
      if (sep === 0x5d) return true;
      if (sep !== 0x2c) return false;
      this.ws();
    }
  }
}

const EMPTY = new Uint8Array(0);
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

/** Where a remembered key's first record lives. */
export interface DedupeEntry {
  readonly shardId: string;
  readonly sequenceNumber: string;
  /** Arrival time of the first record, ms. */
  readonly time: number;
  /** Settles when the first record is durable; absent once it is. */
  pending?: Promise<void>;
}

/**
 * The keys seen within the window, oldest first (a Map keeps insertion order, and arrival times only grow).
 * Bounded to `maxKeys`: past it the oldest keys are forgotten early, and a retry of one of those would be
 * stored again; `evictedEarly` counts them so the operator can see it happen.
 */
export class DedupeWindow {
  private readonly map = new Map<string, DedupeEntry>();
  evictedEarly = 0;

  constructor(
    readonly windowMs: number,
    readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** The entry of `key` if it was seen within the window before `now`. */
  get(key: string, now: number): DedupeEntry | undefined {
    const e = this.map.get(key);
    return e !== undefined && e.time > now - this.windowMs ? e : undefined;
  }

  /** Remembers `key` unless it already is (the first record wins). */
  add(key: string, entry: DedupeEntry): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      if (old.time > entry.time - this.windowMs) return;
      this.map.delete(key);
    }
    this.map.set(key, entry);
    if (this.map.size > this.maxKeys) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.evictedEarly++;
    }
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  /** Forgets keys older than the window. Cheap when nothing expired: it looks at the oldest key only. */
  expire(now: number): void {
    const limit = now - this.windowMs;
    for (const [key, e] of this.map) {
      if (e.time > limit) break;
      this.map.delete(key);
    }
  }
}
