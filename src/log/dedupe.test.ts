import { describe, expect, it } from 'vitest';
import { DedupeWindow, FieldExtractor, MAX_DEDUPE_KEY_BYTES } from './dedupe.ts';

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
  const find = (w: DedupeWindow, key: string, now: number) => w.findText(key, now);
  const insert = (w: DedupeWindow, key: string, shard: number, offset: number, time: number) => {
    expect(w.findText(key, time)).toBe(-1);
    return w.insertFound(shard, offset, time);
  };

  it('remembers the first record of a key within the window only', () => {
    const w = new DedupeWindow(1000, 100);
    w.add('k', 0, 10, 0);
    w.add('k', 0, 11, 10);
    expect(w.offsetOf(find(w, 'k', 500))).toBe(10);
    expect(find(w, 'k', 1000)).toBe(-1);
    w.add('k', 1, 12, 1500);
    const slot = find(w, 'k', 1600);
    expect([w.shardIndexOf(slot), w.offsetOf(slot)]).toEqual([1, 12]);
    expect(w.size).toBe(1);
  });

  it('finds keys given as bytes inside a larger buffer, and as text', () => {
    const w = new DedupeWindow(1000, 100);
    const data = Buffer.from('{"id":"tx-42"}');
    expect(w.find(data, 7, 12, 0)).toBe(-1);
    const slot = w.insertFound(0, 5, 0);
    expect(find(w, 'tx-42', 1)).toBe(slot);
    expect(find(w, 'tx-4', 1)).toBe(-1);
    expect(w.find(Buffer.from('xxtx-42'), 2, 7, 1)).toBe(slot);
  });

  it('forgets expired keys, grows, and stays within its bound', () => {
    const w = new DedupeWindow(10_000, 5000);
    for (let i = 0; i < 6000; i++) insert(w, `k${i}`, 0, i, i);
    expect(w.size).toBe(5000);
    expect(w.evictedEarly).toBe(1000);
    expect(find(w, 'k999', 6000)).toBe(-1);
    expect(w.offsetOf(find(w, 'k1000', 6000))).toBe(1000);
    expect(w.offsetOf(find(w, 'k5999', 6000))).toBe(5999);
    w.expire(15_998);
    expect(w.size).toBe(1);
    expect(find(w, 'k5999', 15_998)).toBeGreaterThanOrEqual(0);
  });

  it('answers the same when presized for the keys it is about to get, and holds no more memory', () => {
    for (const [keys, bound] of [[9000, 20_000], [9000, 5000], [100, 100]] as const) {
      const plain = new DedupeWindow(10_000, bound);
      const presized = new DedupeWindow(10_000, bound);
      presized.presize(keys, keys * 6);
      for (let i = 0; i < keys; i++) {
        plain.add(`k${String(i).padStart(5, '0')}`, i % 3, i, i);
        presized.add(`k${String(i).padStart(5, '0')}`, i % 3, i, i);
      }
      expect([presized.size, presized.evictedEarly]).toEqual([plain.size, plain.evictedEarly]);
      expect(presized.bytes).toBeLessThanOrEqual(plain.bytes);
      for (let i = 0; i < keys; i += 7) {
        const key = `k${String(i).padStart(5, '0')}`;
        const slot = presized.findText(key, keys);
        expect(slot).toBe(plain.findText(key, keys));
        if (slot >= 0) expect([presized.shardIndexOf(slot), presized.offsetOf(slot)]).toEqual([i % 3, i]);
      }
      presized.expire(keys + 5000);
      plain.expire(keys + 5000);
      expect(presized.size).toBe(plain.size);
    }
  });

  it('forgets a key whose record was not stored, and completes placeholders', () => {
    const w = new DedupeWindow(1000, 10);
    const a = insert(w, 'a', 0, -1, 5);
    w.forget(a);
    expect(find(w, 'a', 6)).toBe(-1);
    const b = insert(w, 'b', 0, -1, 5);
    w.update(b, 3, 42, 7);
    expect([w.shardIndexOf(b), w.offsetOf(b)]).toEqual([3, 42]);
  });

  it('does not remember keys longer than the limit', () => {
    const w = new DedupeWindow(1000, 10);
    const long = 'x'.repeat(MAX_DEDUPE_KEY_BYTES + 1);
    expect(find(w, long, 0)).toBe(-1);
    expect(w.insertFound(0, 1, 0)).toBe(-1);
    expect(find(w, long, 1)).toBe(-1);
    w.add('y'.repeat(MAX_DEDUPE_KEY_BYTES), 0, 2, 0);
    expect(find(w, 'y'.repeat(MAX_DEDUPE_KEY_BYTES), 1)).toBeGreaterThanOrEqual(0);
  });

  it('agrees with a Map model through random inserts, repeats, expiry, forgetting and eviction', () => {
    agreesWithModel(300, 40, 30_000);
  });

  it('agrees with the model while long keys make its byte ring grow and wrap many times', () => {
    const w = agreesWithModel(200, 900, 20_000, 400);
    // 200 slots from the start: what grew is the byte ring (64 KiB at first), after it had wrapped.
    expect(w.bytes).toBeGreaterThan(new DedupeWindow(500, 200).bytes);
  });

  it('agrees with the model while its hash table doubles twice, with lookups, expiry, forgetting and eviction during each move', () => {
    // The first table (for 4,096 keys) doubles at 4,096 and 8,192 keys, each move to the larger table spanning
    // about a thousand inserts; a window of 15,000 steps then reaches the bound of 10,000 keys.
    const w = agreesWithModel(10_000, 40, 60_000, 500, { windowMs: 15_000, expireEvery: 64 });
    expect(w.bytes).toBeGreaterThan(2 * 8 * 16_384);
  });

  it('agrees with the model when a key past the window is found in the table being moved from, and replaced', () => {
    agreesWithModel(20_000, 40, 60_000, 500, { windowMs: 12_000, expireEvery: 64, evicts: false });
  });

  it('uses memory for the keys it holds, not for its bound', () => {
    const w = new DedupeWindow(10_000, 1_000_000);
    for (let i = 0; i < 1000; i++) w.add(`k${i}`, 0, i, i);
    // The slot arrays are sized for the bound but only the part in use counts (and is resident): about 35 bytes a key.
    expect(w.bytes).toBeLessThan(1000 * 35 + 64 * 1024 + 8 * 8192 + 1);
  });
});

/**
 * Random traffic against a window and a plain model of it; `padding`: the longest extra length of a key in the
 * second half; `keySpace`: how many different keys (fewer: more repeats looked up); `expireEvery`: steps between
 * calls of `expire` (in between, keys past the window are still held but no longer found).
 */
function agreesWithModel(
  maxKeys: number,
  padding: number,
  steps: number,
  keySpace = 4000,
  { windowMs = 500, expireEvery = 1, seed = 42, evicts = true }: { windowMs?: number; expireEvery?: number; seed?: number; evicts?: boolean } = {},
): DedupeWindow {
  {
    // mulberry32: every key of a large key space comes up (a plain LCG's low bits repeat).
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const w = new DedupeWindow(windowMs, maxKeys);
    // The model: a FIFO of slots (forgotten ones keep their place until they leave) and a map of live keys.
    type Entry = { key: string; offset: number; time: number };
    const ring: Entry[] = [];
    const live = new Map<string, Entry>();
    const dropFront = () => {
      const e = ring.shift()!;
      if (live.get(e.key) === e) live.delete(e.key);
    };
    let now = 0;
    let stale = 0;
    for (let step = 0; step < steps; step++) {
      now += rand(3);
      if (step % expireEvery === 0) {
        w.expire(now);
        while (ring.length > 0 && ring[0]!.time <= now - windowMs) dropFront();
      }
      // Short keys first, so the byte ring has wrapped before long keys make it grow.
      const key = `key-${rand(keySpace)}-${'z'.repeat(rand(step < steps / 2 ? 40 : padding))}`;
      const entry = live.get(key);
      const slot = w.findText(key, now);
      if (entry && entry.time > now - windowMs) {
        expect(w.offsetOf(slot)).toBe(entry.offset);
        continue;
      }
      expect(slot).toBe(-1);
      if (entry) stale++;
      if (rand(20) === 0) continue;
      const s = w.insertFound(0, step, now);
      if (ring.length === maxKeys) dropFront();
      const e = { key, offset: step, time: now };
      ring.push(e);
      live.set(key, e);
      if (rand(50) === 0) {
        w.forget(s);
        live.delete(key);
      }
      expect(w.size).toBe(live.size);
    }
    if (evicts) expect(w.evictedEarly).toBeGreaterThan(0);
    if (expireEvery > 1) expect(stale).toBeGreaterThan(0);
    return w;
  }
}
