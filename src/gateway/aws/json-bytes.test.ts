import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseJsonBytes } from './json-bytes.ts';
import { AWS_JSON } from './wire.ts';
import { Random } from '../../simulator/random.ts';

/** Seeded, so a failure can be replayed. */
function rng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0001', '\u007f', 'é', 'ß', '€', '中', '😀', '\ud800', '\udfff', '\u2028'];
const NUMBERS = ['0', '-0', '7', '-12', '123456789012345', '1234567890123456', '-98765432109876543210', '1.5', '-0.25', '1e3', '2E-2', '6.02e+23', '1.7976931348623157e308', '5e-324', '0.1'];
const WS = ['', '', ' ', '\n', '\t', '\r\n  '];

/** JSON text of a random value, written by hand: random whitespace, raw or escaped non-ASCII, repeated keys. */
function text(r: () => number, depth: number): string {
  const ws = () => WS[Math.floor(r() * WS.length)]!;
  const kind = Math.floor(r() * (depth > 3 ? 4 : 6));
  if (kind === 0) return NUMBERS[Math.floor(r() * NUMBERS.length)]!;
  if (kind === 1) return ['true', 'false', 'null'][Math.floor(r() * 3)]!;
  if (kind <= 3) return string(r);
  if (kind === 4) {
    const n = Math.floor(r() * 5);
    return `[${ws()}${Array.from({ length: n }, () => text(r, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
  }
  const n = Math.floor(r() * 6);
  const keys = ['a', 'b', 'Data', 'PartitionKey', 'é', ''];
  const members = Array.from({ length: n }, () => `${r() < 0.7 ? JSON.stringify(keys[Math.floor(r() * keys.length)]) : string(r)}${ws()}:${ws()}${text(r, depth + 1)}`);
  return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`;
}

function string(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) s += CHARS[Math.floor(r() * CHARS.length)]!;
  const escaped = JSON.stringify(s);
  if (r() < 0.5) return escaped;
  // Non-ASCII written as \u escapes instead of raw bytes.
  return escaped.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function same(bytes: Buffer): boolean {
  let expected: unknown;
  try {
    expected = JSON.parse(bytes.toString('utf8'));
  } catch {
    return parseJsonBytes(bytes) === undefined;
  }
  const got = parseJsonBytes(bytes);
  // Undefined hands the body back to JSON.parse: allowed, never a different value.
  return got === undefined || isDeepStrictEqual(got, expected);
}

describe('parsing JSON from bytes', () => {
  it('gives what JSON.parse gives for generated documents', () => {
    const r = rng(20261206);
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const t = text(r, 0);
      const bytes = Buffer.from(t);
      const got = parseJsonBytes(bytes);
      expect(got === undefined ? 'handed back' : got, t).toStrictEqual(JSON.parse(t));
      parsed++;
    }
    expect(parsed).toBe(3000);
  });

  it('never gives a value JSON.parse would not: damaged documents', () => {
    const r = rng(7);
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(text(r, 0));
      if (bytes.length === 0) continue;
      const at = Math.floor(r() * bytes.length);
      const damaged = r() < 0.5
        ? Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)])
        : Buffer.concat([bytes.subarray(0, at), Buffer.from([Math.floor(r() * 256)]), bytes.subarray(at)]);
      expect(same(damaged), damaged.toString('latin1')).toBe(true);
    }
  });

  it('reads invalid UTF-8 inside strings as the decoded body reads it', () => {
    for (const raw of [[0xe2, 0x82], [0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98]]) {
      const bytes = Buffer.concat([Buffer.from('{"k":"a'), Buffer.from(raw), Buffer.from('","n":[1]}')]);
      expect(parseJsonBytes(bytes)).toStrictEqual(JSON.parse(bytes.toString('utf8')));
    }
  });

  it('hands back what it must not decide: __proto__ keys, deep nesting, a byte order mark, trailing text', () => {
    expect(parseJsonBytes(Buffer.from('{"__proto__":{"x":1}}'))).toBeUndefined();
    expect(parseJsonBytes(Buffer.from('{"\\u005f_proto__":1}'))).toBeUndefined();
    expect(parseJsonBytes(Buffer.from('['.repeat(100) + ']'.repeat(100)))).toBeUndefined();
    expect(parseJsonBytes(Buffer.from('\ufeff{}'))).toBeUndefined();
    expect(parseJsonBytes(Buffer.from('{} x'))).toBeUndefined();
    expect(parseJsonBytes(Buffer.from(' {"a" : [ 1 , -0 ] } '))).toStrictEqual({ a: [1, -0] });
  });
});

describe('AWS JSON bodies above the large-string size', () => {
  const records = Array.from({ length: 500 }, (_, i) => ({
    Data: Buffer.from(JSON.stringify({ transaction_id: `tx-${i}`, note: 'é'.repeat(i % 3), pad: 'x'.repeat(200) })).toString('base64'),
    PartitionKey: `C${String(i).padStart(7, '0')}`,
  }));
  const body = Buffer.from(JSON.stringify({ StreamName: 'tolls', Records: records }));

  it('decode to what JSON.parse gives', () => {
    expect(body.length).toBeGreaterThan(128 * 1024);
    expect(AWS_JSON.decode(body)).toStrictEqual(JSON.parse(body.toString('utf8')));
  });

  it('refuse invalid JSON with the same error as before', () => {
    const broken = Buffer.concat([body.subarray(0, body.length - 1), Buffer.from(',')]);
    let message = '';
    try {
      JSON.parse(broken.toString('utf8'));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(() => AWS_JSON.decode(broken)).toThrow(expect.objectContaining({ code: 'MALFORMED_REQUEST', message: `the request body is not valid JSON: ${message}` }));
  });
});
