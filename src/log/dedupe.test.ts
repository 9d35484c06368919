import { describe, expect, it } from 'vitest';
import { DedupeWindow, FieldExtractor } from './dedupe.ts';

const ex = new FieldExtractor('transaction_id');
const get = (text: string) => ex.extract(Buffer.from(text, 'utf8'));

/** What `JSON.parse` says the key is (numbers as JSON.parse prints them). */
function reference(text: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, 'transaction_id')) return undefined;
  const x = (v as Record<string, unknown>).transaction_id;
  return typeof x === 'string' ? x : typeof x === 'number' ? String(x) : undefined;
}

describe('FieldExtractor', () => {
  it('reads a top-level string or number, wherever it sits', () => {
    expect(get('{"transaction_id":"tx-1","plate":"AB"}')).toBe('tx-1');
    expect(get(' {\n "plate" : "AB" ,\t"transaction_id" : 12345 }\r\n')).toBe('12345');
    expect(get('{"a":{"b":[1,2,{"c":null}]},"transaction_id":"z"}')).toBe('z');
  });

  it('keeps a number as written', () => {
    expect(get('{"transaction_id":12345678901234567890}')).toBe('12345678901234567890');
    expect(get('{"transaction_id":-1.5e3}')).toBe('-1.5e3');
  });

  it('ignores the name when nested, inside a string, or as a value', () => {
    expect(get('{"x":{"transaction_id":"inner"}}')).toBeUndefined();
    expect(get('{"x":"\\"transaction_id\\":\\"fake\\""}')).toBeUndefined();
    expect(get('{"x":"transaction_id"}')).toBeUndefined();
    expect(get('[{"transaction_id":"in-array"}]')).toBeUndefined();
  });

  it('decodes escapes in keys and values as JSON.parse does', () => {
    expect(get('{"transaction\\u005fid":"a\\"b\\\\c\\u00e9\\n"}')).toBe('a"b\\cé\n');
    expect(get('{"transaction_id":"Zürich"}')).toBe('Zürich');
  });

  it('lets the last of repeated properties win, as JSON.parse does', () => {
    expect(get('{"transaction_id":"first","transaction_id":"second"}')).toBe('second');
    expect(get('{"transaction_id":"first","transaction_id":null}')).toBeUndefined();
  });

  it('gives no key for invalid JSON or non-string values', () => {
    for (const text of [
      '',
      '{',
      '{"transaction_id":"x"',
      '{"transaction_id":"x"} extra',
      '{"transaction_id":"x",}',
      '{"transaction_id":01}',
      '{"transaction_id":"bad\\escape"}',
      '{"transaction_id":"ctrl\u0001"}',
      '{"transaction_id":true}',
      '{"transaction_id":{"id":1}}',
      '{"a":tru,"transaction_id":"x"}',
      '{"a":[1,],"transaction_id":"x"}',
      '{"a":1.,"transaction_id":"x"}',
      'not json',
    ]) {
      expect(get(text), text).toBe(reference(text));
    }
  });

  it('agrees with JSON.parse on generated records and on every truncation of them', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const values = ['"s"', '"tr\\"ansaction_id"', '12', '7', '[1,{"transaction_id":2}]', '{}', 'null', 'false', '"é\\u0041"', '3.25'];
    const keys = ['transaction_id', 'plate', 'transaction', 'transaction_idx', 'lane'];
    for (let n = 0; n < 300; n++) {
      const parts: string[] = [];
      const count = rand(5);
      for (let i = 0; i < count; i++) parts.push(`"${keys[rand(keys.length)]}":${values[rand(values.length)]}`);
      const text = `{${parts.join(rand(2) ? ',' : ' , ')}}`;
      expect(get(text), text).toBe(reference(text));
      for (let cut = 0; cut < text.length; cut += 3) expect(get(text.slice(0, cut)), text.slice(0, cut)).toBe(reference(text.slice(0, cut)));
    }
  });

  it('falls back to JSON.parse for very deep nesting and still finds the key', () => {
    const deep = '['.repeat(2000) + ']'.repeat(2000);
    expect(get(`{"d":${deep},"transaction_id":"deep"}`)).toBe('deep');
  });
});

describe('DedupeWindow', () => {
  it('remembers the first record of a key within the window only', () => {
    const w = new DedupeWindow(1000, 100);
    w.add('k', 0, 10, 0);
    w.add('k', 0, 11, 10);
    expect(w.offsetOf(w.find('k', 500))).toBe(10);
    expect(w.find('k', 1000)).toBe(-1);
    w.add('k', 1, 12, 1500);
    const slot = w.find('k', 1600);
    expect([w.shardIndexOf(slot), w.offsetOf(slot)]).toEqual([1, 12]);
  });

  it('forgets expired keys, grows, and stays within its bound', () => {
    const w = new DedupeWindow(10_000, 5000);
    for (let i = 0; i < 6000; i++) w.insert(`k${i}`, 0, i, i);
    expect(w.size).toBe(5000);
    expect(w.evictedEarly).toBe(1000);
    expect(w.find('k999', 6000)).toBe(-1);
    expect(w.offsetOf(w.find('k1000', 6000))).toBe(1000);
    expect(w.offsetOf(w.find('k5999', 6000))).toBe(5999);
    w.expire(15_998);
    expect(w.size).toBe(1);
    expect(w.find('k5999', 15_998)).toBeGreaterThanOrEqual(0);
  });

  it('forgets a key whose record was not stored, and completes placeholders', () => {
    const w = new DedupeWindow(1000, 10);
    const a = w.insert('a', 0, -1, 5);
    w.forget(a);
    expect(w.find('a', 6)).toBe(-1);
    const b = w.insert('b', 0, -1, 5);
    w.update(b, 3, 42, 7);
    expect([w.shardIndexOf(b), w.offsetOf(b)]).toEqual([3, 42]);
  });
});
