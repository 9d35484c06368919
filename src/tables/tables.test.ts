import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import { openTables, type Tables } from './index.ts';
import { tempDir, type TempDir } from './test-helpers.ts';

let dir: TempDir;
let tables: Tables;

beforeEach(() => {
  dir = tempDir();
  tables = openTables({ path: dir.dbPath });
  tables.createTable('spend', { sortKey: true });
  tables.createTable('customers');
});

afterEach(() => {
  tables.close();
  dir.remove();
});

function thrown(fn: () => unknown): TollstreamError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TollstreamError) return err;
    throw err;
  }
  throw new Error('expected the call to throw');
}

describe('items', () => {
  it('puts and gets a JSON object with its version', () => {
    const stored = tables.put('customers', { pk: 'c-1' }, { name: 'Ana', limit_cents: 5000, tags: ['ev'], meta: { tier: null } });
    expect(stored.version).toBe(1);
    const read = tables.get('customers', { pk: 'c-1' });
    expect(read?.value).toEqual({ name: 'Ana', limit_cents: 5000, tags: ['ev'], meta: { tier: null } });
    expect(read?.version).toBe(1);
    expect(read).not.toHaveProperty('sk');
    expect(tables.get('customers', { pk: 'nobody' })).toBeUndefined();
  });

  it('keeps integers exact up to 2^53-1 and rejects larger ones with a clear error', () => {
    const max = Number.MAX_SAFE_INTEGER;
    tables.put('customers', { pk: 'c-1' }, { a: max, b: -max, c: 0.1 });
    expect(tables.get('customers', { pk: 'c-1' })?.value).toEqual({ a: max, b: -max, c: 0.1 });

    const err = thrown(() => tables.put('customers', { pk: 'c-2' }, { nested: { big: 2 ** 60 } }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('value.nested.big');
    expect(err.message).toContain('2^53');
    expect(thrown(() => tables.put('customers', { pk: 'c-2' }, { x: Number.NaN })).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => tables.put('customers', { pk: 'c-2' }, { when: new Date() } as never)).code).toBe('INVALID_ARGUMENT');
    expect(tables.get('customers', { pk: 'c-2' })).toBeUndefined();
  });

  it('adds atomically, creating missing items and attributes, and returns the new item', () => {
    const first = tables.update('spend', { pk: 'c-1', sk: '2026-11' }, { add: { total_cents: 125 }, set: { currency: 'USD' } });
    expect(first.value).toEqual({ total_cents: 125, currency: 'USD' });
    expect(first.version).toBe(1);
    const second = tables.update('spend', { pk: 'c-1', sk: '2026-11' }, { add: { total_cents: 250, 'by_plaza.p7': 1 } });
    expect(second.value).toEqual({ total_cents: 375, currency: 'USD', by_plaza: { p7: 1 } });
    expect(second.version).toBe(2);
    expect(tables.get('spend', { pk: 'c-1', sk: '2026-11' })?.value).toEqual(second.value);

    const removed = tables.update('spend', { pk: 'c-1', sk: '2026-11' }, { remove: ['currency'] });
    expect(removed.value).toEqual({ total_cents: 375, by_plaza: { p7: 1 } });
  });

  it('refuses an add that would leave the exact integer range, and an add to a non-number', () => {
    tables.put('customers', { pk: 'c-1' }, { total: Number.MAX_SAFE_INTEGER - 1, name: 'x' });
    expect(thrown(() => tables.update('customers', { pk: 'c-1' }, { add: { total: 5 } })).message).toContain('2^53');
    expect(thrown(() => tables.update('customers', { pk: 'c-1' }, { add: { name: 5 } })).code).toBe('INVALID_ARGUMENT');
    expect(tables.get('customers', { pk: 'c-1' })?.version).toBe(1);
  });

  it('refuses an update spec with an unknown key instead of writing nothing', () => {
    expect(thrown(() => tables.update('customers', { pk: 'c-1' }, { inc: { n: 1 } } as never)).message).toContain("unknown key 'inc'");
    expect(tables.get('customers', { pk: 'c-1' })).toBeUndefined();
  });

  it('refuses attribute paths that are empty or reach into prototypes', () => {
    for (const path of ['', 'a..b', '__proto__', 'x.constructor']) {
      expect(thrown(() => tables.update('customers', { pk: 'c-1' }, { set: { [path]: 1 } })).code).toBe('INVALID_ARGUMENT');
    }
    expect(tables.get('customers', { pk: 'c-1' })).toBeUndefined();
  });

  it('deletes and returns what was removed', () => {
    tables.put('customers', { pk: 'c-1' }, { a: 1 });
    expect(tables.delete('customers', { pk: 'c-1' })?.value).toEqual({ a: 1 });
    expect(tables.get('customers', { pk: 'c-1' })).toBeUndefined();
    expect(tables.delete('customers', { pk: 'c-1' })).toBeUndefined();
  });

  it('checks keys against the table: sort key required, forbidden, or non-empty', () => {
    expect(thrown(() => tables.put('spend', { pk: 'c-1' }, {})).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => tables.put('customers', { pk: 'c-1', sk: 'x' }, {})).message).toContain('no sort key');
    expect(thrown(() => tables.put('customers', { pk: '' }, {})).code).toBe('INVALID_ARGUMENT');
    const missing = thrown(() => tables.get('nope', { pk: 'a' }));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.context).toEqual({ table: 'nope' });
  });

  it('keeps items and tables across reopening', () => {
    tables.update('spend', { pk: 'c-1', sk: '2026-11' }, { add: { total_cents: 7 } });
    tables.close();
    tables = openTables({ path: dir.dbPath });
    expect(tables.listTables().map((t) => [t.name, t.sortKey])).toEqual([
      ['customers', false],
      ['spend', true],
    ]);
    expect(tables.get('spend', { pk: 'c-1', sk: '2026-11' })?.value).toEqual({ total_cents: 7 });
  });

  it('deleting a table removes its items', () => {
    tables.put('customers', { pk: 'c-1' }, { a: 1 });
    tables.deleteTable('customers');
    expect(thrown(() => tables.get('customers', { pk: 'c-1' })).code).toBe('NOT_FOUND');
    tables.createTable('customers');
    expect(tables.get('customers', { pk: 'c-1' })).toBeUndefined();
  });

  it('creating an existing table fails unless ifNotExists matches its key shape', () => {
    expect(tables.createTable('spend', { sortKey: true, ifNotExists: true }).name).toBe('spend');
    expect(thrown(() => tables.createTable('spend', { sortKey: true })).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => tables.createTable('spend', { ifNotExists: true })).message).toContain('sortKey=true');
  });
});

describe('conditional writes', () => {
  it('put with item absent creates once, then fails with CONDITION_FAILED and context', () => {
    tables.put('customers', { pk: 'c-1' }, { n: 1 }, { condition: { item: 'absent' } });
    const err = thrown(() => tables.put('customers', { pk: 'c-1' }, { n: 2 }, { condition: { item: 'absent' } }));
    expect(err.code).toBe('CONDITION_FAILED');
    expect(err.context).toMatchObject({ table: 'customers', pk: 'c-1', operation: 'put', currentVersion: 1 });
    expect(tables.get('customers', { pk: 'c-1' })?.value).toEqual({ n: 1 });
  });

  it('expected version guards against lost updates', () => {
    const v1 = tables.put('customers', { pk: 'c-1' }, { n: 1 });
    tables.put('customers', { pk: 'c-1' }, { n: 2 }, { condition: { version: v1.version } });
    expect(isTollstreamError(tryCall(() => tables.put('customers', { pk: 'c-1' }, { n: 3 }, { condition: { version: v1.version } })), 'CONDITION_FAILED')).toBe(true);
    expect(tables.get('customers', { pk: 'c-1' })?.value).toEqual({ n: 2 });
  });

  it('attribute comparisons decide updates and deletes', () => {
    tables.put('spend', { pk: 'c-1', sk: '2026-11' }, { total_cents: 4000, alerted: false });
    // Only the update that crosses the threshold first sets the flag.
    const crossing = tables.update('spend', { pk: 'c-1', sk: '2026-11' }, {
      set: { alerted: true },
      condition: { and: [{ attr: 'total_cents', op: '>=', value: 4000 }, { attr: 'alerted', op: '=', value: false }] },
    });
    expect(crossing.value.alerted).toBe(true);
    expect(thrown(() => tables.update('spend', { pk: 'c-1', sk: '2026-11' }, { set: { alerted: true }, condition: { attr: 'alerted', op: '=', value: false } })).code).toBe('CONDITION_FAILED');

    expect(thrown(() => tables.delete('spend', { pk: 'c-1', sk: '2026-11' }, { condition: { attr: 'total_cents', op: '<', value: 5 } })).code).toBe(
      'CONDITION_FAILED',
    );
    expect(tables.delete('spend', { pk: 'c-1', sk: '2026-11' }, { condition: { not: { attr: 'missing', op: 'attribute_exists' } } })).toBeDefined();
  });

  it('rejects malformed conditions instead of treating them as false', () => {
    tables.put('customers', { pk: 'c-1' }, { n: 1 });
    const err = thrown(() => tables.put('customers', { pk: 'c-1' }, { n: 2 }, { condition: { attr: 'n', op: '==', value: 1 } as never }));
    expect(err.code).toBe('INVALID_ARGUMENT');
  });
});

describe('query', () => {
  beforeEach(() => {
    for (const month of ['2026-09', '2026-10', '2026-11', '2026-12', '2027-01']) {
      tables.put('spend', { pk: 'c-1', sk: month }, { month });
    }
    tables.put('spend', { pk: 'c-2', sk: '2026-11' }, { month: '2026-11' });
  });

  const months = (r: { items: readonly { sk?: string }[] }) => r.items.map((i) => i.sk);

  it('returns one partition in sort key order, ascending or descending', () => {
    expect(months(tables.query('spend', 'c-1'))).toEqual(['2026-09', '2026-10', '2026-11', '2026-12', '2027-01']);
    expect(months(tables.query('spend', 'c-1', { order: 'desc', limit: 2 }))).toEqual(['2027-01', '2026-12']);
  });

  it('filters by prefix and by range', () => {
    expect(months(tables.query('spend', 'c-1', { sk: { beginsWith: '2026-1' } }))).toEqual(['2026-10', '2026-11', '2026-12']);
    expect(months(tables.query('spend', 'c-1', { sk: { gt: '2026-10', lte: '2026-12' } }))).toEqual(['2026-11', '2026-12']);
    expect(months(tables.query('spend', 'c-1', { sk: { beginsWith: '2026', gte: '2026-11' } }))).toEqual(['2026-11', '2026-12']);
  });

  it('pages with a cursor without gaps or repeats, in both orders', () => {
    for (const order of ['asc', 'desc'] as const) {
      const seen: (string | undefined)[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = tables.query('spend', 'c-1', { limit: 2, order, ...(cursor ? { cursor } : {}) });
        seen.push(...months(page));
        cursor = page.cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      const expected = ['2026-09', '2026-10', '2026-11', '2026-12', '2027-01'];
      expect(seen).toEqual(order === 'asc' ? expected : expected.reverse());
    }
  });

  it('rejects a cursor of another partition', () => {
    const page = tables.query('spend', 'c-1', { limit: 1 });
    expect(thrown(() => tables.query('spend', 'c-2', { cursor: page.cursor as string })).code).toBe('INVALID_ARGUMENT');
  });

  it('orders sort keys beyond U+FFFF by code point, like their UTF-8 bytes', () => {
    tables.put('spend', { pk: 'u', sk: 'a\u{1F600}' }, {});
    tables.put('spend', { pk: 'u', sk: 'a\uFFFD' }, {});
    tables.put('spend', { pk: 'u', sk: 'b' }, {});
    expect(months(tables.query('spend', 'u', { sk: { beginsWith: 'a' } }))).toEqual(['a\uFFFD', 'a\u{1F600}']);
  });
});

function tryCall(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('scan', () => {
  it('pages through every item of one table in key order, across partitions', () => {
    for (const id of ['c-3', 'c-1', 'c-2', 'c-5', 'c-4']) tables.put('customers', { pk: id }, { id });
    tables.put('spend', { pk: 'c-1', sk: '2026-01' }, { cents: 1 });
    tables.put('spend', { pk: 'c-1', sk: '2026-02' }, { cents: 2 });
    tables.put('spend', { pk: 'c-0', sk: '2026-03' }, { cents: 3 });

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = tables.scan('customers', { limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((i) => i.pk));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(['c-1', 'c-2', 'c-3', 'c-4', 'c-5']);
    expect(pages).toBe(3);

    const first = tables.scan('spend', { limit: 2 });
    expect(first.items.map((i) => [i.pk, i.sk])).toEqual([['c-0', '2026-03'], ['c-1', '2026-01']]);
    const second = tables.scan('spend', { limit: 2, cursor: first.cursor! });
    expect(second.items.map((i) => [i.pk, i.sk])).toEqual([['c-1', '2026-02']]);
    expect(second.cursor).toBeUndefined();
    expect(tables.transaction((tx) => tx.scan('customers').items.length)).toBe(5);
  });

  it('refuses a cursor of another table and a bad limit', () => {
    tables.put('spend', { pk: 'c-1', sk: 'a' }, {});
    tables.put('spend', { pk: 'c-1', sk: 'b' }, {});
    const cursor = tables.scan('spend', { limit: 1 }).cursor!;
    expect(thrown(() => tables.scan('customers', { cursor })).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => tables.scan('customers', { limit: 0 })).code).toBe('INVALID_ARGUMENT');
  });
});
