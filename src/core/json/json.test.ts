import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  JSON_ABSENT,
  JSON_ARRAY,
  JSON_FALSE,
  JSON_NULL,
  JSON_NUMBER,
  JSON_OBJECT,
  JSON_STRING,
  JSON_TRUE,
  JsonFields,
  MAX_JSON_DEPTH,
  parseJsonBytes,
  scanJson,
} from './index.ts';
import { Random } from '../random.ts';

/** Seeded, so a failure can be replayed. */
function rng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;

const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0001', '\u007f', 'é', 'ß', '€', '中', '😀', '\ud800', '\udfff', '\u2028'];
const NUMBERS = [
  '0', '-0', '7', '-12', '123456789012345', '-123456789012345', '1234567890123456', '-98765432109876543210', '1.5', '-0.25', '1e3', '2E-2',
  '6.02e+23', '1.7976931348623157e308', '1e400', '-1e400', '5e-324', '0.1', '0e0', '1.0',
];
const WS = ['', '', ' ', '\n', '\t', '\r\n  '];
/** Names the field tests look for, and others; some written with escapes. */
const KEYS = ['plate', 'tx', 'é', '', 'other', 'p\\u006cate', '\\u0074x', 'pl\\u00e9', 'plate'];

/** A JSON string literal: escaped by JSON.stringify, sometimes with its non-ASCII characters as \u escapes. */
function stringLiteral(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 10);
  for (let i = 0; i < n; i++) s += pick(r, CHARS);
  const escaped = JSON.stringify(s);
  if (r() < 0.5) return escaped;
  return escaped.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** JSON text of a random value, written by hand: random whitespace, escapes, repeated and escaped names. */
function jsonText(r: () => number, depth: number): string {
  const ws = () => pick(r, WS);
  const kind = Math.floor(r() * (depth > 3 ? 4 : 6));
  if (kind === 0) return pick(r, NUMBERS);
  if (kind === 1) return pick(r, ['true', 'false', 'null']);
  if (kind <= 3) return stringLiteral(r);
  if (kind === 4) {
    const n = Math.floor(r() * 4);
    return `[${ws()}${Array.from({ length: n }, () => jsonText(r, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
  }
  const n = Math.floor(r() * 5) + (depth === 0 ? 1 : 0);
  const members = Array.from({ length: n }, () => `${r() < 0.8 ? `"${pick(r, KEYS)}"` : stringLiteral(r)}${ws()}:${ws()}${jsonText(r, depth + 1)}`);
  return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`;
}

const DAMAGE = ['"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', '.', 'e', ' ', 't', 'x', '\u0001', '\\u12', '\\q', '\\ud83d'];

/** The text with one piece deleted, inserted or replaced: mostly invalid JSON, sometimes still valid. */
function damage(text: string, r: () => number): string {
  const at = Math.floor(r() * (text.length + 1));
  const kind = r();
  if (kind < 0.4) return text.slice(0, at) + text.slice(at + 1);
  const piece = pick(r, DAMAGE);
  if (kind < 0.7) return text.slice(0, at) + piece + text.slice(at);
  return text.slice(0, at) + piece + text.slice(at + 1);
}

type Reference = { valid: true; value: unknown } | { valid: false };

function reference(bytes: Uint8Array): Reference {
  try {
    return { valid: true, value: JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown };
  } catch {
    return { valid: false };
  }
}

/** What a wanted field holds after a scan, in JSON.parse's terms. */
function scannedValue(scanner: JsonFields, bytes: Uint8Array, i: number): unknown {
  switch (scanner.kind[i]) {
    case JSON_ABSENT:
      return undefined;
    case JSON_STRING:
      return scanner.text(bytes, i);
    case JSON_NUMBER:
      return scanner.number(bytes, i);
    case JSON_TRUE:
      return true;
    case JSON_FALSE:
      return false;
    case JSON_NULL:
      return null;
    case JSON_OBJECT:
    case JSON_ARRAY:
      // Its bytes are the whole value: JSON.parse of them gives the member's value.
      return JSON.parse(Buffer.from(bytes.subarray(scanner.start[i], scanner.end[i])).toString('utf8')) as unknown;
  }
  throw new Error(`unknown kind ${scanner.kind[i]}`);
}

function referenceField(value: unknown, name: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name)) return undefined;
  return (value as Record<string, unknown>)[name];
}

const WANTED = ['plate', 'tx', 'é', '', 'plé', 'plate'];

/**
 * Checks one text against JSON.parse through every door: validity, the wanted fields, the built value.
 * Returns what disagreed (empty when all agree) and whether the text was valid.
 */
function disagreements(bytes: Uint8Array): { found: unknown[]; valid: boolean } {
  const found: unknown[] = [];
  const want = reference(bytes);
  const scanner = new JsonFields(WANTED);
  const outcome = scanner.scan(bytes);
  const text = Buffer.from(bytes).toString('latin1');
  if (outcome === 'too-deep') found.push({ text, outcome });
  else if ((outcome === 'valid') !== want.valid) found.push({ text, outcome, jsonParse: want.valid });
  if (scanJson(bytes, null) !== outcome) found.push({ text, withoutSink: 'differs' });
  if (want.valid && outcome === 'valid') {
    const isObject = typeof want.value === 'object' && want.value !== null && !Array.isArray(want.value);
    if ((scanner.topKind === JSON_OBJECT) !== isObject) found.push({ text, topKind: scanner.topKind });
    WANTED.forEach((name, i) => {
      const got = scannedValue(scanner, bytes, i);
      const expected = referenceField(want.value, name);
      if (!isDeepStrictEqual(got, expected)) found.push({ text, name, got, expected });
    });
  }
  const built = parseJsonBytes(bytes);
  const handedBack = built === undefined && (!want.valid || (want.valid && hasProtoKey(want.value)));
  if (!handedBack && !(want.valid && isDeepStrictEqual(built, want.value))) found.push({ text, built, expected: want.valid ? want.value : 'invalid' });
  return { found, valid: want.valid };
}

/** JSON.parse makes `__proto__` an own property, which a built object cannot: such texts are handed back. */
function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.hasOwn(value, '__proto__')) return true;
  return Object.values(value).some(hasProtoKey);
}

describe('the JSON byte scanner', () => {
  it('agrees with JSON.parse on generated texts: validity, wanted fields (last repeat wins, escaped names) and built values', () => {
    const r = rng(20261207);
    let valid = 0;
    const found: unknown[] = [];
    for (let i = 0; i < 5000; i++) {
      const result = disagreements(Buffer.from(`${pick(r, WS)}${jsonText(r, 0)}${pick(r, WS)}`));
      found.push(...result.found);
      if (result.valid) valid++;
    }
    expect(found).toEqual([]);
    expect(valid).toBe(5000);
  });

  it('agrees with JSON.parse on damaged texts', () => {
    const r = rng(7);
    let valid = 0;
    const found: unknown[] = [];
    for (let i = 0; i < 8000; i++) {
      let text = damage(jsonText(r, 0), r);
      if (r() < 0.3) text = damage(text, r);
      const result = disagreements(Buffer.from(text));
      found.push(...result.found);
      if (result.valid) valid++;
    }
    expect(found).toEqual([]);
    // Both sides are exercised.
    expect(valid).toBeGreaterThan(500);
    expect(valid).toBeLessThan(7500);
  });

  it('agrees with JSON.parse on every truncation of a text', () => {
    const r = rng(99);
    const found: unknown[] = [];
    for (let i = 0; i < 150; i++) {
      const bytes = Buffer.from(jsonText(r, 0));
      for (let n = 0; n < bytes.length; n++) found.push(...disagreements(bytes.subarray(0, n)).found);
    }
    expect(found).toEqual([]);
  });

  it('agrees with JSON.parse on stray bytes, invalid UTF-8 included', () => {
    const r = rng(3);
    const found: unknown[] = [];
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(jsonText(r, 0));
      const at = Math.floor(r() * (bytes.length + 1));
      const stray = Buffer.from([Math.floor(r() * 256)]);
      found.push(...disagreements(Buffer.concat([bytes.subarray(0, at), stray, bytes.subarray(at)])).found);
    }
    for (const raw of [[0xe2, 0x82], [0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0xf0, 0x9f, 0x98, 0x80]]) {
      found.push(...disagreements(Buffer.concat([Buffer.from('{"plate":"a'), Buffer.from(raw), Buffer.from('","pl'), Buffer.from(raw), Buffer.from('":[1]}')])).found);
    }
    expect(found).toEqual([]);
  });

  it('refuses what JSON refuses', () => {
    const scanner = new JsonFields(['a']);
    for (const text of [
      '', ' ', '01', '-01', '1.', '.5', '-', '+1', '1e', '1e+', '0x10', '"\t"', "'a'", 'tru', 'nul', 'True', '[1,]', '[,1]', '{"a":1,}', '{,}',
      '{a:1}', '{"a" 1}', '{"a":}', '"\\x"', '"\\u12"', '"\\u12g4"', '"abc', '1 2', '\ufeff1', 'NaN', 'Infinity', '[1 2]', '{"a":1}}', '[[]',
    ]) {
      const bytes = Buffer.from(text);
      expect({ text, outcome: scanner.scan(bytes) }).toEqual({ text, outcome: 'invalid' });
      expect(parseJsonBytes(bytes)).toBeUndefined();
    }
  });

  it('decodes escapes and surrogate pairs as JSON.parse does', () => {
    const scanner = new JsonFields(['s', 'plate']);
    const cases: [string, string][] = [
      ['"\\ud83d\\ude00"', '😀'],
      ['"😀"', '😀'],
      ['"\\ud800"', '\ud800'],
      ['"\\udfff\\ud800"', '\udfff\ud800'],
      ['"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"', 'a"b\\c/d\b\f\n\r\t'],
      ['"\\u00e9\\u00E9é"', 'ééé'],
    ];
    for (const [literal, text] of cases) {
      const bytes = Buffer.from(`{"s":${literal},"pl\\u0061te":${literal}}`);
      expect(scanner.scan(bytes)).toBe('valid');
      expect([scanner.text(bytes, 0), scanner.text(bytes, 1)]).toEqual([text, text]);
      expect(parseJsonBytes(bytes)).toStrictEqual({ s: text, plate: text });
    }
  });

  it('reads numbers as JSON.parse does', () => {
    const scanner = new JsonFields(['n']);
    for (const literal of [...NUMBERS, '-0.0', '100000000000000', '999999999999999', '9007199254740993', '1E+2', '12.50e-1']) {
      const bytes = Buffer.from(`{"n":${literal}}`);
      expect(scanner.scan(bytes)).toBe('valid');
      expect(scanner.kind[0]).toBe(JSON_NUMBER);
      expect(Object.is(scanner.number(bytes, 0), JSON.parse(literal))).toBe(true);
      expect(Object.is(parseJsonBytes(Buffer.from(literal)), JSON.parse(literal))).toBe(true);
    }
  });

  it(`follows nesting to ${MAX_JSON_DEPTH} levels and hands deeper texts back`, () => {
    const scanner = new JsonFields(['a']);
    const nested = (depth: number) => Buffer.from(`${'['.repeat(depth - 1)}{"a":1}${']'.repeat(depth - 1)}`);
    expect(scanner.scan(nested(MAX_JSON_DEPTH))).toBe('valid');
    expect(parseJsonBytes(nested(MAX_JSON_DEPTH))).toStrictEqual(JSON.parse(nested(MAX_JSON_DEPTH).toString()));
    expect(scanner.scan(nested(MAX_JSON_DEPTH + 1))).toBe('too-deep');
    expect(parseJsonBytes(nested(MAX_JSON_DEPTH + 1))).toBeUndefined();
    const deepMember = Buffer.from(`{"b":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)},"a":2}`);
    expect(scanner.scan(deepMember)).toBe('too-deep');
  });

  it('gives the last of repeated members, to every wanted slot of that name', () => {
    const scanner = new JsonFields(['k', 'x', 'k']);
    const bytes = Buffer.from('{"k":"first","x":{"k":"inner"},"\\u006b":"second"}');
    expect(scanner.scan(bytes)).toBe('valid');
    expect([scanner.text(bytes, 0), scanner.kind[1], scanner.text(bytes, 2)]).toEqual(['second', JSON_OBJECT, 'second']);
    const later = Buffer.from('{"k":"first","k":null}');
    expect(scanner.scan(later)).toBe('valid');
    expect(scanner.kind[0]).toBe(JSON_NULL);
  });

  it('finds members of a top-level object only', () => {
    const scanner = new JsonFields(['k']);
    for (const text of ['[{"k":1}]', '{"a":{"k":1}}', '{"a":"\\"k\\":1"}', '"k"']) {
      expect(scanner.scan(Buffer.from(text))).toBe('valid');
      expect(scanner.kind[0]).toBe(JSON_ABSENT);
    }
  });

  it('reads only inside a view of a larger buffer, a Buffer or a plain Uint8Array', () => {
    const scanner = new JsonFields(['a']);
    const bytes = Buffer.from('xx{"a":[1,2]}yy{"a":"b"}');
    expect(scanner.scan(bytes.subarray(2, 13))).toBe('valid');
    expect(scanner.kind[0]).toBe(JSON_ARRAY);
    expect(scanner.scan(bytes.subarray(2, 12))).toBe('invalid');
    // Every cut of a valid text, whose rest still follows in the buffer, is invalid: nothing past the view is read.
    const text = Buffer.from('{"a":"\\u00e9","b":[true,1e5,-0.5,null,false]}');
    for (let end = 0; end < text.length; end++) expect(scanner.scan(text.subarray(0, end))).toBe('invalid');
    expect(scanner.scan(text)).toBe('valid');
    expect(scanner.text(text, 0)).toBe('é');
    const plain = new Uint8Array(Buffer.from('{"a":"é\\n","b":12}'));
    expect(scanner.scan(plain)).toBe('valid');
    expect(scanner.text(plain, 0)).toBe('é\n');
    expect(parseJsonBytes(plain)).toStrictEqual({ a: 'é\n', b: 12 });
  });

  it('hands back a built object with a __proto__ member, which JSON.parse makes an own property', () => {
    expect(parseJsonBytes(Buffer.from('{"__proto__":{"x":1}}'))).toBeUndefined();
    expect(parseJsonBytes(Buffer.from('{"a":[{"\\u005f_proto__":1}]}'))).toBeUndefined();
    const scanner = new JsonFields(['__proto__']);
    const bytes = Buffer.from('{"__proto__":"p"}');
    expect(scanner.scan(bytes)).toBe('valid');
    expect(scanner.text(bytes, 0)).toBe('p');
  });
});
