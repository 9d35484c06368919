import { describe, expect, it } from 'vitest';
import { JsonScanner, VALUE_ESCAPED_STRING, VALUE_NONE, VALUE_NUMBER, VALUE_OTHER, VALUE_PLAIN_STRING } from './json-scan.ts';

/** A small seeded PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'plate', 'AB-123', 'a"b', 'back\\slash', 'tab\there', 'é ü', '😀', '\u2028', 'x\ny', '\u0000'];
const NUMBERS = ['0', '-0', '12', '-3.25', '1e3', '2E-2', '1.5e+10', '123456789012345678901234567890'];

function randomValue(next: () => number, depth: number): string {
  const r = next();
  if (depth > 3 || r < 0.35) {
    const leaf = next();
    if (leaf < 0.4) return JSON.stringify(STRINGS[Math.floor(next() * STRINGS.length)]);
    if (leaf < 0.7) return NUMBERS[Math.floor(next() * NUMBERS.length)]!;
    return ['true', 'false', 'null'][Math.floor(next() * 3)]!;
  }
  const ws = () => [' ', '', '\t', '', '\r', ''][Math.floor(next() * 6)]!;
  const n = Math.floor(next() * 4);
  if (r < 0.6) return `[${ws()}${Array.from({ length: n }, () => randomValue(next, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
  const keys = ['plate', 'tx', 'p\\u006cate', 'other', 'plate', ''];
  return `{${ws()}${Array.from({ length: n + (depth === 0 ? 1 : 0) }, () => `"${keys[Math.floor(next() * keys.length)]}"${ws()}:${ws()}${randomValue(next, depth + 1)}`).join(',')}${ws()}}`;
}

const MUTATIONS = ['"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', '.', 'e', ' ', 't', 'x', '\u0001', '\\u12', '\\q'];

function mutate(text: string, next: () => number): string {
  const at = Math.floor(next() * (text.length + 1));
  const kind = next();
  if (kind < 0.4) return text.slice(0, at) + text.slice(at + 1);
  const piece = MUTATIONS[Math.floor(next() * MUTATIONS.length)]!;
  if (kind < 0.7) return text.slice(0, at) + piece + text.slice(at);
  return text.slice(0, at) + piece + text.slice(at + 1);
}

/** What ingest expects for a field, computed with JSON.parse. */
function referenceKey(value: unknown, field: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = (value as Record<string, unknown>)[field];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function scannedKey(bytes: Buffer, scanner: JsonScanner, i: number): string | undefined {
  const text = bytes.toString('utf8', scanner.start[i], scanner.end[i]);
  switch (scanner.kind[i]) {
    case VALUE_PLAIN_STRING:
      return text.slice(1, -1);
    case VALUE_ESCAPED_STRING:
      return JSON.parse(text) as string;
    case VALUE_NUMBER: {
      const n = Number(text);
      return Number.isFinite(n) ? String(n) : undefined;
    }
    case VALUE_NONE:
    case VALUE_OTHER:
      return undefined;
  }
  return undefined;
}

describe('JsonScanner', () => {
  it('agrees with JSON.parse on validity and key fields for generated and mutated texts', () => {
    const next = rng(20261126);
    const scanner = new JsonScanner(['plate', 'tx']);
    let valid = 0;
    let undecided = 0;
    const disagreements: unknown[] = [];
    for (let i = 0; i < 20_000; i++) {
      let text = randomValue(next, 0);
      if (next() < 0.5) text = mutate(text, next);
      if (next() < 0.2) text = mutate(text, next);
      const bytes = Buffer.from(`  ${text} `);
      let parsed: unknown;
      let parses = true;
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch {
        parses = false;
      }
      const outcome = scanner.scan(bytes, 0, bytes.length);
      if (outcome === 'undecided') {
        undecided++;
        continue;
      }
      if ((outcome === 'valid') !== parses) disagreements.push({ text, scanner: outcome, jsonParse: parses });
      if (parses && outcome === 'valid') {
        valid++;
        for (const [i, field] of ['plate', 'tx'].entries()) {
          const got = scannedKey(bytes, scanner, i);
          const want = referenceKey(parsed, field);
          if (got !== want) disagreements.push({ text, field, got, want });
        }
      }
    }
    expect(disagreements).toEqual([]);
    // The generator exercises both sides, and escaped names stay a minority.
    expect(valid).toBeGreaterThan(5000);
    expect(undecided).toBeLessThan(10_000);
  });

  it('takes the last occurrence of a repeated property, as JSON.parse does', () => {
    const scanner = new JsonScanner(['k']);
    const bytes = Buffer.from('{"k":"first","k":"second"}');
    expect(scanner.scan(bytes, 0, bytes.length)).toBe('valid');
    expect(bytes.toString('utf8', scanner.start[0], scanner.end[0])).toBe('"second"');
  });

  it('reads only inside the given range', () => {
    const scanner = new JsonScanner([]);
    const bytes = Buffer.from('xx{"a":[1,2]}yy');
    expect(scanner.scan(bytes, 2, bytes.length - 2)).toBe('valid');
    expect(scanner.scan(bytes, 2, bytes.length - 3)).toBe('invalid');
  });

  it('leaves very deep nesting to JSON.parse', () => {
    const scanner = new JsonScanner([]);
    const deep = Buffer.from('['.repeat(1000) + ']'.repeat(1000));
    expect(scanner.scan(deep, 0, deep.length)).toBe('undecided');
  });

  it('refuses what JSON refuses', () => {
    const scanner = new JsonScanner([]);
    for (const text of ['', '01', '1.', '.5', '-', '+1', '1e', '"\t"', "'a'", 'tru', 'nul', '[1,]', '{"a":1,}', '{a:1}', '"\\x"', '"\\u12"', '1 2', '\ufeff1', 'NaN', 'Infinity']) {
      const bytes = Buffer.from(text);
      expect({ text, outcome: scanner.scan(bytes, 0, bytes.length) }).toEqual({ text, outcome: 'invalid' });
    }
  });
});
