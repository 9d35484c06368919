/**
 * A validating single-pass scanner for one JSON text in a byte range, which also locates up to two
 * top-level properties of an object. It accepts exactly what `JSON.parse` accepts for the same bytes decoded
 * as UTF-8 (the ingest tests check this against `JSON.parse` on generated input), without building the value:
 * ingest needs to know that a line is JSON and what its key fields hold, not the whole parsed object.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_DEPTH = 512;

/** What a located property holds. */
export const VALUE_NONE = 0;
/** A string without escapes: its text is the bytes between the quotes. */
export const VALUE_PLAIN_STRING = 1;
/** A string with escapes: decode it with JSON.parse. */
export const VALUE_ESCAPED_STRING = 2;
export const VALUE_NUMBER = 3;
/** An object, array, boolean or null. */
export const VALUE_OTHER = 4;

export type ScanOutcome = 'valid' | 'invalid' | 'undecided';

/**
 * Reusable: `scan` overwrites the located positions. `undecided` means the text nests deeper than the scanner
 * follows or has a property name with escapes that could be a wanted field; the caller then uses JSON.parse.
 */
export class JsonScanner {
  private readonly fields: Uint8Array[];
  /** Per wanted field: VALUE_* kind and the value's byte range (last occurrence wins, as in JSON.parse). */
  readonly kind: number[];
  readonly start: number[];
  readonly end: number[];
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private limit = 0;
  private escaped = false;
  private undecided = false;

  constructor(fields: readonly string[]) {
    this.fields = fields.map((f) => new Uint8Array(Buffer.from(f, 'utf8')));
    this.kind = fields.map(() => VALUE_NONE);
    this.start = fields.map(() => 0);
    this.end = fields.map(() => 0);
  }

  scan(buf: Uint8Array, start: number, end: number): ScanOutcome {
    this.buf = buf;
    this.pos = start;
    this.limit = end;
    this.undecided = false;
    for (let i = 0; i < this.kind.length; i++) this.kind[i] = VALUE_NONE;
    this.skipWhitespace();
    const ok = this.value(0) && (this.skipWhitespace(), this.pos === this.limit);
    if (this.undecided) return 'undecided';
    return ok ? 'valid' : 'invalid';
  }

  private skipWhitespace(): void {
    const buf = this.buf;
    while (this.pos < this.limit) {
      const c = buf[this.pos]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else return;
    }
  }

  private value(depth: number): boolean {
    if (this.pos >= this.limit) return false;
    const c = this.buf[this.pos]!;
    if (c === QUOTE) return this.string();
    if (c === 0x7b) return this.object(depth);
    if (c === 0x5b) return this.array(depth);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.literal(TRUE);
    if (c === 0x66) return this.literal(FALSE);
    if (c === 0x6e) return this.literal(NULL);
    return false;
  }

  private literal(word: Uint8Array): boolean {
    if (this.pos + word.length > this.limit) return false;
    for (let i = 0; i < word.length; i++) if (this.buf[this.pos + i] !== word[i]) return false;
    this.pos += word.length;
    return true;
  }

  /** At the opening quote; sets `escaped`. */
  private string(): boolean {
    const buf = this.buf;
    const limit = this.limit;
    let pos = this.pos + 1;
    this.escaped = false;
    while (pos < limit) {
      const c = buf[pos++]!;
      if (c === QUOTE) {
        this.pos = pos;
        return true;
      }
      if (c === BACKSLASH) {
        this.escaped = true;
        if (pos >= limit) return false;
        const e = buf[pos++]!;
        if (e === 0x75) {
          if (pos + 4 > limit) return false;
          for (let i = 0; i < 4; i++) if (!isHex(buf[pos + i]!)) return false;
          pos += 4;
        } else if (!(e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) {
          return false;
        }
      } else if (c < 0x20) {
        return false;
      }
    }
    return false;
  }

  private number(): boolean {
    const buf = this.buf;
    let pos = this.pos;
    if (buf[pos] === 0x2d) pos++;
    if (pos >= this.limit) return false;
    if (buf[pos] === 0x30) pos++;
    else if (isDigit(buf[pos]!)) while (pos < this.limit && isDigit(buf[pos]!)) pos++;
    else return false;
    if (pos < this.limit && buf[pos] === 0x2e) {
      pos++;
      if (pos >= this.limit || !isDigit(buf[pos]!)) return false;
      while (pos < this.limit && isDigit(buf[pos]!)) pos++;
    }
    if (pos < this.limit && (buf[pos] === 0x65 || buf[pos] === 0x45)) {
      pos++;
      if (pos < this.limit && (buf[pos] === 0x2b || buf[pos] === 0x2d)) pos++;
      if (pos >= this.limit || !isDigit(buf[pos]!)) return false;
      while (pos < this.limit && isDigit(buf[pos]!)) pos++;
    }
    this.pos = pos;
    return true;
  }

  private array(depth: number): boolean {
    if (depth >= MAX_DEPTH) {
      this.undecided = true;
      return false;
    }
    this.pos++;
    this.skipWhitespace();
    if (this.pos < this.limit && this.buf[this.pos] === 0x5d) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (!this.value(depth + 1)) return false;
      this.skipWhitespace();
      if (this.pos >= this.limit) return false;
      const c = this.buf[this.pos++]!;
      if (c === 0x5d) return true;
      if (c !== 0x2c) return false;
      this.skipWhitespace();
    }
  }

  private object(depth: number): boolean {
    if (depth >= MAX_DEPTH) {
      this.undecided = true;
      return false;
    }
    this.pos++;
    this.skipWhitespace();
    if (this.pos < this.limit && this.buf[this.pos] === 0x7d) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (this.pos >= this.limit || this.buf[this.pos] !== QUOTE) return false;
      const keyStart = this.pos + 1;
      if (!this.string()) return false;
      const keyEnd = this.pos - 1;
      const wanted = depth === 0 && this.fields.length > 0 ? this.wantedField(keyStart, keyEnd) : -1;
      this.skipWhitespace();
      if (this.pos >= this.limit || this.buf[this.pos] !== 0x3a) return false;
      this.pos++;
      this.skipWhitespace();
      const valueStart = this.pos;
      const first = this.pos < this.limit ? this.buf[this.pos]! : 0;
      if (!this.value(depth + 1)) return false;
      if (wanted >= 0) {
        this.kind[wanted] =
          first === QUOTE ? (this.escaped ? VALUE_ESCAPED_STRING : VALUE_PLAIN_STRING) : first === 0x2d || isDigit(first) ? VALUE_NUMBER : VALUE_OTHER;
        this.start[wanted] = valueStart;
        this.end[wanted] = this.pos;
      }
      this.skipWhitespace();
      if (this.pos >= this.limit) return false;
      const c = this.buf[this.pos++]!;
      if (c === 0x7d) return true;
      if (c !== 0x2c) return false;
      this.skipWhitespace();
    }
  }

  /** The index of the wanted field named by key bytes [start, end), or -1. */
  private wantedField(start: number, end: number): number {
    if (this.escaped) {
      // The name's decoded text could equal a wanted field; only JSON.parse can tell.
      this.undecided = true;
      return -1;
    }
    const length = end - start;
    outer: for (let f = 0; f < this.fields.length; f++) {
      const field = this.fields[f]!;
      if (field.length !== length) continue;
      for (let i = 0; i < length; i++) if (this.buf[start + i] !== field[i]) continue outer;
      return f;
    }
    return -1;
  }
}

const TRUE = new Uint8Array([0x74, 0x72, 0x75, 0x65]);
const FALSE = new Uint8Array([0x66, 0x61, 0x6c, 0x73, 0x65]);
const NULL = new Uint8Array([0x6e, 0x75, 0x6c, 0x6c]);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
