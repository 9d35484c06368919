/**
 * JSON values from bytes, without first turning the whole text into one string.
 *
 * A PutRecords body of 500 records is about 180 KB of JSON. `JSON.parse(body.toString('utf8'))` makes a string
 * of that size first, and V8 puts strings above 128 KB in its large-object space: fresh pages from the system for
 * every request, about 2.6 µs of CPU per record here (half of it in the kernel), more than parsing the JSON
 * costs. This builds only the small strings the values need, reading the text with the scanner's functions.
 *
 * It returns exactly what `JSON.parse(bytes.toString('utf8'))` returns, or `undefined` whenever it is not sure
 * it would: invalid JSON, nesting deeper than MAX_JSON_DEPTH, a `__proto__` key (JSON.parse makes it an own
 * property). The caller then parses the text as before, so errors read the same.
 */
import { MAX_JSON_DEPTH, QUOTE, lastStringFlags, numberValue, scanNumber, scanString, skipValue, skipWhitespace, stringText } from './scan.ts';

/** Thrown inside the builder when it gives up; never leaves this module. */
const GIVE_UP = Symbol('give up');

/** The position after the value `value` built last. */
let after = 0;

export function parseJsonBytes(bytes: Uint8Array): unknown {
  const end = bytes.length;
  try {
    const value = parseValue(bytes, skipWhitespace(bytes, 0, end), end, 0);
    return skipWhitespace(bytes, after, end) === end ? value : undefined;
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

function parseValue(b: Uint8Array, p: number, end: number, depth: number): unknown {
  if (p >= end) throw GIVE_UP;
  const c = b[p]!;
  if (c === QUOTE) return parseString(b, p, end);
  if (c === 0x7b) return parseObject(b, p, end, depth + 1);
  if (c === 0x5b) return parseArray(b, p, end, depth + 1);
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    const q = scanNumber(b, p);
    if (q < 0) throw GIVE_UP;
    after = q;
    return numberValue(b, p, q);
  }
  // true, false, null: validated by the scanner, then read from the first byte.
  const q = skipValue(b, p, end, depth);
  if (q < 0) throw GIVE_UP;
  after = q;
  return c === 0x74 ? true : c === 0x66 ? false : null;
}

/** At the opening quote. */
function parseString(b: Uint8Array, p: number, end: number): string {
  const q = scanString(b, p, end);
  if (q < 0) throw GIVE_UP;
  after = q + 1;
  return stringText(b, p + 1, q, lastStringFlags());
}

function parseObject(b: Uint8Array, p: number, end: number, depth: number): Record<string, unknown> {
  if (depth > MAX_JSON_DEPTH) throw GIVE_UP;
  const out: Record<string, unknown> = {};
  p = skipWhitespace(b, p + 1, end);
  if (p < end && b[p] === 0x7d) {
    after = p + 1;
    return out;
  }
  for (;;) {
    if (p >= end || b[p] !== QUOTE) throw GIVE_UP;
    const key = parseString(b, p, end);
    if (key === '__proto__') throw GIVE_UP;
    p = skipWhitespace(b, after, end);
    if (p >= end || b[p] !== 0x3a) throw GIVE_UP;
    out[key] = parseValue(b, skipWhitespace(b, p + 1, end), end, depth);
    p = skipWhitespace(b, after, end);
    const sep = p < end ? b[p++] : undefined;
    if (sep === 0x7d) {
      after = p;
      return out;
    }
    if (sep !== 0x2c) throw GIVE_UP;
    p = skipWhitespace(b, p, end);
  }
}

function parseArray(b: Uint8Array, p: number, end: number, depth: number): unknown[] {
  if (depth > MAX_JSON_DEPTH) throw GIVE_UP;
  const out: unknown[] = [];
  p = skipWhitespace(b, p + 1, end);
  if (p < end && b[p] === 0x5d) {
    after = p + 1;
    return out;
  }
  for (;;) {
    out.push(parseValue(b, p, end, depth));
    p = skipWhitespace(b, after, end);
    const sep = p < end ? b[p++] : undefined;
    if (sep === 0x5d) {
      after = p;
      return out;
    }
    if (sep !== 0x2c) throw GIVE_UP;
    p = skipWhitespace(b, p, end);
  }
}
