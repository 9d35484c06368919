/**
 * The one JSON byte scanner: validates one JSON text in a byte range as strictly as `JSON.parse` does for the
 * same bytes decoded as UTF-8, without building its value, and hands the members of a top-level object to a
 * sink as byte ranges. The field scanner (`fields.ts`), the value builder (`parse.ts`) and the record readers
 * of the log, the gateway and SQL all stand on these functions.
 *
 * The scanning functions pass positions, not objects: each returns the position after what it read, or -1
 * when the text is not JSON there. What else they learn about the last string (escapes, non-ASCII bytes) they
 * leave in module state, read right after the call; one thread, no reentry.
 *
 * A text is always a whole Uint8Array (a line of a larger buffer is scanned through a subarray view): a read
 * past its end gives `undefined`, which no test of a byte accepts, so most steps need no bounds check.
 */

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;

/**
 * Nesting deeper than this is not followed: the scan answers `too-deep` and the caller asks `JSON.parse`,
 * which goes deeper (and throws RangeError only far beyond). Kept well under the stack a recursion can use.
 */
export const MAX_JSON_DEPTH = 512;

/** What a value is, by its first byte (and `JSON_ABSENT` for a wanted member that is not there). */
export const JSON_ABSENT = 0;
export const JSON_STRING = 1;
export const JSON_NUMBER = 2;
export const JSON_TRUE = 3;
export const JSON_FALSE = 4;
export const JSON_NULL = 5;
export const JSON_OBJECT = 6;
export const JSON_ARRAY = 7;

/** Bits of a string's flags: it holds a backslash escape (decode with JSON.parse) / a byte of a multi-byte character. */
export const STRING_ESCAPED = 1;
export const STRING_NON_ASCII = 2;

/** Flags of the string `scanString` read last. */
let stringFlags = 0;
/** Set when a scan gave up because the nesting went past MAX_JSON_DEPTH. */
let tooDeep = false;
/** The kind of the top-level value `scanJson` read last. */
let topKind = JSON_ABSENT;

/** Bytes that end the fast run through a string: a quote, a backslash, a control character, a non-ASCII byte. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[QUOTE] = 1;
STRING_STOP[BACKSLASH] = 1;
for (let c = 0x80; c < 0x100; c++) STRING_STOP[c] = 1;

/** 1 for a byte a hexadecimal digit. */
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

export function lastStringFlags(): number {
  return stringFlags;
}

export function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export function skipWhitespace(b: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const c = b[p]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return p;
    p++;
  }
  return p;
}

/** The kind of the value that starts with byte `c` (undefined past the end: JSON_ABSENT). */
export function kindOf(c: number | undefined): number {
  if (c === QUOTE) return JSON_STRING;
  if (c === 0x7b) return JSON_OBJECT;
  if (c === 0x5b) return JSON_ARRAY;
  if (c === 0x74) return JSON_TRUE;
  if (c === 0x66) return JSON_FALSE;
  if (c === 0x6e) return JSON_NULL;
  if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return JSON_NUMBER;
  return JSON_ABSENT;
}

/** At an opening quote: the position of the closing quote, or -1. Sets the flags `lastStringFlags` returns. */
export function scanString(b: Uint8Array, p: number, end: number): number {
  const stop = STRING_STOP;
  let flags = 0;
  p++;
  for (;;) {
    while (p < end && stop[b[p]!] === 0) p++;
    if (p >= end) return -1;
    const c = b[p]!;
    if (c === QUOTE) {
      stringFlags = flags;
      return p;
    }
    if (c >= 0x80) {
      flags |= STRING_NON_ASCII;
      p++;
    } else {
      flags |= STRING_ESCAPED;
      p = skipEscape(b, p, end);
      if (p < 0) return -1;
    }
  }
}

/** At a backslash (or a control character, never valid) inside a string: the position after the escape, or -1. */
function skipEscape(b: Uint8Array, p: number, end: number): number {
  if (b[p] !== BACKSLASH || p + 1 >= end) return -1;
  const e = b[p + 1]!;
  if (e === 0x75) {
    if (p + 6 > end || HEX[b[p + 2]!] === 0 || HEX[b[p + 3]!] === 0 || HEX[b[p + 4]!] === 0 || HEX[b[p + 5]!] === 0) return -1;
    return p + 6;
  }
  // " \ / b f n r t
  if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
  return p + 2;
}

function isDigitAt(b: Uint8Array, p: number): boolean {
  const c = b[p];
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** At the first byte of a number: the position after it, or -1 when it is not a JSON number. */
export function scanNumber(b: Uint8Array, p: number): number {
  if (b[p] === 0x2d) p++;
  const first = b[p];
  if (first === 0x30) p++;
  else if (first !== undefined && first >= 0x31 && first <= 0x39) {
    p++;
    while (isDigitAt(b, p)) p++;
  } else return -1;
  if (b[p] === 0x2e) {
    p++;
    if (!isDigitAt(b, p)) return -1;
    while (isDigitAt(b, p)) p++;
  }
  if (b[p] === 0x65 || b[p] === 0x45) {
    p++;
    if (b[p] === 0x2b || b[p] === 0x2d) p++;
    if (!isDigitAt(b, p)) return -1;
    while (isDigitAt(b, p)) p++;
  }
  return p;
}

function literal(b: Uint8Array, p: number, end: number, word: Uint8Array): number {
  if (p + word.length > end) return -1;
  for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) return -1;
  return p + word.length;
}

const TRUE = new Uint8Array([0x74, 0x72, 0x75, 0x65]);
const FALSE = new Uint8Array([0x66, 0x61, 0x6c, 0x73, 0x65]);
const NULL = new Uint8Array([0x6e, 0x75, 0x6c, 0x6c]);

/** At the first byte of any value: the position after it, or -1. `depth` counts the containers around it. */
export function skipValue(b: Uint8Array, p: number, end: number, depth: number): number {
  const c = b[p];
  if (c === QUOTE) {
    const q = scanString(b, p, end);
    return q < 0 ? -1 : q + 1;
  }
  if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return scanNumber(b, p);
  if (c === 0x7b || c === 0x5b) {
    if (depth >= MAX_JSON_DEPTH) {
      tooDeep = true;
      return -1;
    }
    return c === 0x7b ? skipObject(b, p, end, depth + 1) : skipArray(b, p, end, depth + 1);
  }
  if (c === 0x74) return literal(b, p, end, TRUE);
  if (c === 0x66) return literal(b, p, end, FALSE);
  if (c === 0x6e) return literal(b, p, end, NULL);
  return -1;
}

function skipObject(b: Uint8Array, p: number, end: number, depth: number): number {
  p = skipWhitespace(b, p + 1, end);
  if (b[p] === 0x7d) return p + 1;
  for (;;) {
    if (b[p] !== QUOTE) return -1;
    p = scanString(b, p, end);
    if (p < 0) return -1;
    p = skipWhitespace(b, p + 1, end);
    if (b[p] !== 0x3a) return -1;
    p = skipValue(b, skipWhitespace(b, p + 1, end), end, depth);
    if (p < 0) return -1;
    p = skipWhitespace(b, p, end);
    const sep = b[p++];
    if (sep === 0x7d) return p;
    if (sep !== 0x2c) return -1;
    p = skipWhitespace(b, p, end);
  }
}

function skipArray(b: Uint8Array, p: number, end: number, depth: number): number {
  p = skipWhitespace(b, p + 1, end);
  if (b[p] === 0x5d) return p + 1;
  for (;;) {
    p = skipValue(b, p, end, depth);
    if (p < 0) return -1;
    p = skipWhitespace(b, p, end);
    const sep = b[p++];
    if (sep === 0x5d) return p;
    if (sep !== 0x2c) return -1;
    p = skipWhitespace(b, p, end);
  }
}

/** Receives the members of a top-level object, in order, repeated names included. */
export interface MemberSink {
  /**
   * When set: 1 at the byte lengths of the names the sink wants. A member whose name is plain ASCII of
   * another length is not given to the sink (the common case, checked without a call).
   */
  readonly keyLengths: Uint8Array | null;
  /**
   * One member. A string's range is its contents between the quotes (`keyFlags`/`valueFlags` are its
   * STRING_* bits); any other value's range is all its bytes.
   */
  member(b: Uint8Array, keyStart: number, keyEnd: number, keyFlags: number, kind: number, valueStart: number, valueEnd: number, valueFlags: number): void;
}

export type ScanOutcome = 'valid' | 'invalid' | 'too-deep';

/**
 * Scans the one JSON text in `b` (whitespace around it allowed), giving each member of a top-level object to
 * `sink`. `too-deep` when the nesting went past MAX_JSON_DEPTH: the text may be valid or not.
 * The kind of the top-level value is `lastTopKind()` after a valid scan.
 */
export function scanJson(b: Uint8Array, sink: MemberSink | null): ScanOutcome {
  tooDeep = false;
  const end = b.length;
  let p = skipWhitespace(b, 0, end);
  topKind = kindOf(b[p]);
  p = topKind === JSON_OBJECT && sink !== null ? scanMembers(b, p, end, sink) : skipValue(b, p, end, 0);
  if (tooDeep) return 'too-deep';
  return p >= 0 && skipWhitespace(b, p, end) === end ? 'valid' : 'invalid';
}

export function lastTopKind(): number {
  return topKind;
}

/** At a top-level '{': the position after its '}', or -1; each member goes to `sink` once its value is read. */
function scanMembers(b: Uint8Array, p: number, end: number, sink: MemberSink): number {
  const lengths = sink.keyLengths;
  p = skipWhitespace(b, p + 1, end);
  if (b[p] === 0x7d) return p + 1;
  for (;;) {
    if (b[p] !== QUOTE) return -1;
    const keyStart = p + 1;
    const keyEnd = scanString(b, p, end);
    if (keyEnd < 0) return -1;
    const keyFlags = stringFlags;
    const wanted = lengths === null || lengths[keyEnd - keyStart] === 1 || keyFlags !== 0;
    p = keyEnd + 1;
    if (b[p] !== 0x3a) {
      p = skipWhitespace(b, p, end);
      if (b[p] !== 0x3a) return -1;
    }
    p++;
    if (isWhitespace(b[p]!)) p = skipWhitespace(b, p, end);
    const c = b[p];
    const valueStart = p;
    p = skipValue(b, p, end, 1);
    if (p < 0) return -1;
    // A string's range for the sink is its contents between the quotes.
    if (wanted) {
      const isString = c === QUOTE;
      sink.member(b, keyStart, keyEnd, keyFlags, kindOf(c), isString ? valueStart + 1 : valueStart, isString ? p - 1 : p, isString ? stringFlags : 0);
    }
    let sep = b[p++];
    if (sep !== 0x2c && sep !== 0x7d) {
      p = skipWhitespace(b, p - 1, end);
      sep = b[p++];
    }
    if (sep === 0x7d) return p;
    if (sep !== 0x2c) return -1;
    if (isWhitespace(b[p]!)) p = skipWhitespace(b, p, end);
  }
}

type Slicer = (this: Uint8Array, start: number, end: number) => string;
/** Buffer's own slicers, without the argument checks of `toString`; they take any Uint8Array. */
const latin1Slice = Buffer.prototype.latin1Slice as Slicer;
const utf8Slice = Buffer.prototype.utf8Slice as Slicer;

/** The text of the string whose contents are `b[start, end)` with `flags`, as JSON.parse gives it. */
export function stringText(b: Uint8Array, start: number, end: number, flags: number): string {
  // With its quotes and decoded as the whole text would be (a quote is never part of a multi-byte sequence).
  if ((flags & STRING_ESCAPED) !== 0) return JSON.parse(utf8Slice.call(b, start - 1, end + 1)) as string;
  return (flags & STRING_NON_ASCII) !== 0 ? utf8Slice.call(b, start, end) : latin1Slice.call(b, start, end);
}

/** The value of the JSON number `b[start, end)`, as JSON.parse gives it. */
export function numberValue(b: Uint8Array, start: number, end: number): number {
  const negative = b[start] === 0x2d;
  const first = negative ? start + 1 : start;
  // Up to 15 digits an integer is exact in a double: add the digits up. Longer, or with a fraction or an
  // exponent, the text goes through Number(), which rounds as JSON.parse does.
  if (end - first <= 15) {
    let n = 0;
    let k = first;
    for (; k < end; k++) {
      const d = b[k]! - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (k === end) return negative ? -n : n;
  }
  return Number(latin1Slice.call(b, start, end));
}
