/**
 * Reads the values of a few named fields straight from the bytes of a JSON object, without building the
 * object: a live query needs 3 to 6 fields of records that carry 10 or more, and `JSON.parse` of the whole
 * text (every key and value a new string, one object per record) was the largest cost of a live query.
 *
 * The reader validates the whole text as strictly as `JSON.parse` does. It answers only when the text is one
 * JSON object whose wanted values are scalars; for anything else (invalid JSON, not an object, a wanted value
 * that is an object or array, an escaped key) it answers `false` and the caller parses the text as before, so
 * every result is exactly what `JSON.parse` then a property lookup would give.
 */
import { parseIsoTimestampBytes } from '../expr/time.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Nesting deeper than this in a skipped value is left to JSON.parse. */
const MAX_DEPTH = 64;

interface WantedName {
  readonly bytes: Uint8Array;
  readonly slot: number;
}

/** Set by `scanString`: the string held a backslash escape / a byte of a multi-byte UTF-8 character. */
let sawEscape = false;
let sawHigh = false;

function isWhitespace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWhitespace(b: Uint8Array, i: number): number {
  while (isWhitespace(b[i])) i++;
  return i;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= DIGIT_0 && c <= DIGIT_9) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** 1 for the bytes a JSON string holds as they are, below 0x80: not a quote, backslash or control character. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) if (c !== QUOTE && c !== BACKSLASH) PLAIN[c] = 1;

/** From just after an opening quote: the index of the closing quote, or -1 when the string is not valid JSON. */
function scanString(b: Uint8Array, i: number): number {
  sawEscape = false;
  sawHigh = false;
  const n = b.length;
  for (;;) {
    // One table load per byte for the common run of plain ASCII.
    while (i < n && PLAIN[b[i]!] === 1) i++;
    const c = b[i];
    if (c === QUOTE) return i;
    if (c === undefined || c < 0x20) return -1;
    if (c === BACKSLASH) {
      sawEscape = true;
      const e = b[i + 1];
      if (e === 0x75) {
        if (!isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5])) return -1;
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
      i += 2;
      continue;
    }
    if (c >= 0x80) sawHigh = true;
    i++;
  }
}

/** Set by `scanNumber`: the number is an integer of at most 15 digits (exact in a double, built without parsing text). */
let simpleInteger = false;

/** From the first character of a number: the index after it, or -1 when it is not a JSON number. */
function scanNumber(b: Uint8Array, i: number): number {
  const start = i;
  if (b[i] === MINUS) i++;
  let c = b[i];
  if (c === DIGIT_0) i++;
  else if (c !== undefined && c > DIGIT_0 && c <= DIGIT_9) {
    i++;
    while ((c = b[i]) !== undefined && c >= DIGIT_0 && c <= DIGIT_9) i++;
  } else return -1;
  simpleInteger = i - start <= 15;
  if (b[i] === 0x2e) {
    simpleInteger = false;
    i++;
    if (!((c = b[i]) !== undefined && c >= DIGIT_0 && c <= DIGIT_9)) return -1;
    while ((c = b[i]) !== undefined && c >= DIGIT_0 && c <= DIGIT_9) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    simpleInteger = false;
    i++;
    if (b[i] === 0x2b || b[i] === MINUS) i++;
    if (!((c = b[i]) !== undefined && c >= DIGIT_0 && c <= DIGIT_9)) return -1;
    while ((c = b[i]) !== undefined && c >= DIGIT_0 && c <= DIGIT_9) i++;
  }
  return i;
}

function matchLiteral(b: Uint8Array, i: number, literal: string): number {
  for (let k = 0; k < literal.length; k++) if (b[i + k] !== literal.charCodeAt(k)) return -1;
  return i + literal.length;
}

/** From the first character of any value: the index after it, or -1 when it is not valid JSON. */
function skipValue(b: Uint8Array, i: number, depth: number): number {
  const c = b[i];
  if (c === QUOTE) {
    const end = scanString(b, i + 1);
    return end < 0 ? -1 : end + 1;
  }
  if (c === MINUS || (c !== undefined && c >= DIGIT_0 && c <= DIGIT_9)) return scanNumber(b, i);
  if (c === 0x74) return matchLiteral(b, i, 'true');
  if (c === 0x66) return matchLiteral(b, i, 'false');
  if (c === 0x6e) return matchLiteral(b, i, 'null');
  if (depth >= MAX_DEPTH) return -1;
  if (c === OPEN_ARRAY) {
    i = skipWhitespace(b, i + 1);
    if (b[i] === CLOSE_ARRAY) return i + 1;
    for (;;) {
      i = skipValue(b, i, depth + 1);
      if (i < 0) return -1;
      i = skipWhitespace(b, i);
      if (b[i] === CLOSE_ARRAY) return i + 1;
      if (b[i] !== COMMA) return -1;
      i = skipWhitespace(b, i + 1);
    }
  }
  if (c === OPEN_OBJECT) {
    i = skipWhitespace(b, i + 1);
    if (b[i] === CLOSE_OBJECT) return i + 1;
    for (;;) {
      if (b[i] !== QUOTE) return -1;
      const end = scanString(b, i + 1);
      if (end < 0) return -1;
      i = skipWhitespace(b, end + 1);
      if (b[i] !== COLON) return -1;
      i = skipValue(b, skipWhitespace(b, i + 1), depth + 1);
      if (i < 0) return -1;
      i = skipWhitespace(b, i);
      if (b[i] === CLOSE_OBJECT) return i + 1;
      if (b[i] !== COMMA) return -1;
      i = skipWhitespace(b, i + 1);
    }
  }
  return -1;
}

/**
 * Text of ASCII bytes. Buffer's own latin1Slice skips the argument checks of `toString`; building short
 * strings char by char in JS measured slower once the strings are hashed (group keys), as they are here.
 */
type Latin1Slicer = (this: Buffer, start: number, end: number) => string;
const latin1Slice: Latin1Slicer =
  (Buffer.prototype as unknown as { latin1Slice?: Latin1Slicer }).latin1Slice ??
  function (this: Buffer, start: number, end: number): string {
    return this.toString('latin1', start, end);
  };

function asciiText(buf: Buffer, start: number, end: number): string {
  return latin1Slice.call(buf, start, end);
}

export class JsonFieldReader {
  /** Wanted names by their UTF-8 length. */
  private readonly byLength: (WantedName[] | undefined)[] = [];
  private readonly bySlot: readonly string[];

  /**
   * `names[slot]` is the key whose value lands in `values[slot]`; a slot in `timestampSlots` gets ISO 8601
   * UTC text (`2026-03-02T08:00:00.000Z`) as epoch milliseconds instead of the text, other text as is.
   */
  constructor(
    names: readonly string[],
    private readonly timestampSlots: ReadonlySet<number> = new Set(),
  ) {
    this.bySlot = names;
    names.forEach((name, slot) => {
      const bytes = Buffer.from(name, 'utf8');
      const list = (this.byLength[bytes.length] ??= []);
      list.push({ bytes, slot });
    });
  }

  /**
   * Puts the value of every wanted key of the JSON object in `bytes` into `values` (undefined when absent;
   * the last one when a key repeats, as JSON.parse). False when the caller must parse the text itself.
   */
  read(bytes: Buffer, values: unknown[]): boolean {
    const b = bytes;
    values.fill(undefined);
    let i = skipWhitespace(b, 0);
    if (b[i] !== OPEN_OBJECT) return false;
    i = skipWhitespace(b, i + 1);
    if (b[i] === CLOSE_OBJECT) return skipWhitespace(b, i + 1) === b.length;
    for (;;) {
      if (b[i] !== QUOTE) return false;
      const keyEnd = scanString(b, i + 1);
      if (keyEnd < 0 || sawEscape) return false;
      const slot = sawHigh ? this.slotOfText(b.toString('utf8', i + 1, keyEnd)) : this.slotOf(b, i + 1, keyEnd);
      i = skipWhitespace(b, keyEnd + 1);
      if (b[i] !== COLON) return false;
      i = skipWhitespace(b, i + 1);
      if (slot < 0) i = skipValue(b, i, 1);
      else i = this.readValue(b, i, slot, values);
      if (i < 0) return false;
      i = skipWhitespace(b, i);
      if (b[i] === CLOSE_OBJECT) return skipWhitespace(b, i + 1) === b.length;
      if (b[i] !== COMMA) return false;
      i = skipWhitespace(b, i + 1);
    }
  }

  private slotOf(b: Uint8Array, start: number, end: number): number {
    const list = this.byLength[end - start];
    if (list === undefined) return -1;
    next: for (const w of list) {
      const name = w.bytes;
      for (let k = 0; k < name.length; k++) if (b[start + k] !== name[k]) continue next;
      return w.slot;
    }
    return -1;
  }

  private slotOfText(key: string): number {
    return this.bySlot.indexOf(key);
  }

  /** Reads a scalar value into `values[slot]`; -1 for invalid JSON or an object or array (left to JSON.parse). */
  private readValue(b: Buffer, i: number, slot: number, values: unknown[]): number {
    const c = b[i];
    if (c === QUOTE) {
      const end = scanString(b, i + 1);
      if (end < 0) return -1;
      if (sawEscape) values[slot] = JSON.parse(b.toString('utf8', i, end + 1));
      else if (sawHigh) values[slot] = b.toString('utf8', i + 1, end);
      else {
        const t = this.timestampSlots.has(slot) ? parseIsoTimestampBytes(b, i + 1, end) : null;
        values[slot] = t ?? asciiText(b, i + 1, end);
      }
      return end + 1;
    }
    if (c === MINUS || (c !== undefined && c >= DIGIT_0 && c <= DIGIT_9)) {
      const end = scanNumber(b, i);
      if (end < 0) return -1;
      if (simpleInteger) {
        const negative = c === MINUS;
        let n = 0;
        for (let k = negative ? i + 1 : i; k < end; k++) n = n * 10 + (b[k]! - DIGIT_0);
        values[slot] = negative ? -n : n;
      } else values[slot] = Number(b.toString('latin1', i, end));
      return end;
    }
    let end = -1;
    if (c === 0x74) {
      end = matchLiteral(b, i, 'true');
      values[slot] = true;
    } else if (c === 0x66) {
      end = matchLiteral(b, i, 'false');
      values[slot] = false;
    } else if (c === 0x6e) {
      end = matchLiteral(b, i, 'null');
      values[slot] = null;
    }
    return end;
  }
}

/**
 * The keys of a JSON object whose values are numbers written with a fraction or an exponent (`1.0`, `2e3`):
 * `JSON.parse` gives `1.0` as the integer 1, but whoever wrote `1.0` meant a decimal, and a column inferred
 * from it must not divide like an integer. Null when the text is not one JSON object.
 */
export function decimalNumberKeys(bytes: Uint8Array): Set<string> | null {
  const b = bytes;
  const keys = new Set<string>();
  let i = skipWhitespace(b, 0);
  if (b[i] !== OPEN_OBJECT) return null;
  i = skipWhitespace(b, i + 1);
  if (b[i] === CLOSE_OBJECT) return keys;
  for (;;) {
    if (b[i] !== QUOTE) return null;
    const keyEnd = scanString(b, i + 1);
    if (keyEnd < 0) return null;
    const keyStart = i;
    i = skipWhitespace(b, keyEnd + 1);
    if (b[i] !== COLON) return null;
    i = skipWhitespace(b, i + 1);
    const valueStart = i;
    const c = b[i];
    i = skipValue(b, i, 1);
    if (i < 0) return null;
    if (c === MINUS || (c !== undefined && c >= DIGIT_0 && c <= DIGIT_9)) {
      for (let k = valueStart; k < i; k++) {
        const d = b[k];
        if (d === 0x2e || d === 0x65 || d === 0x45) {
          keys.add(JSON.parse(Buffer.from(b.buffer, b.byteOffset + keyStart, keyEnd + 1 - keyStart).toString('utf8')) as string);
          break;
        }
      }
    }
    i = skipWhitespace(b, i);
    if (b[i] === CLOSE_OBJECT) return keys;
    if (b[i] !== COMMA) return null;
    i = skipWhitespace(b, i + 1);
  }
}
