import { describe, expect, it } from 'vitest';
import { compareCodePoints, evaluateCondition } from './condition.ts';
import { prefixSuccessor, rangeToBounds } from './keys.ts';
import type { Item } from './types.ts';

describe('sort key ranges', () => {
  it('the prefix successor is the first string after every string with the prefix', () => {
    expect(prefixSuccessor('2026-1')).toBe('2026-2');
    expect(prefixSuccessor('a\u{10FFFF}')).toBe('b');
    expect(prefixSuccessor('\u{10FFFF}')).toBeUndefined();
    expect(prefixSuccessor('a\uD7FF')).toBe('a\uE000');
    expect(prefixSuccessor('a\u{1F600}')).toBe('a\u{1F601}');
  });

  it('combined bounds keep the tightest of each side', () => {
    expect(rangeToBounds({ beginsWith: '2026', gte: '2026-11', lt: '2026-12' }, 't')).toEqual({
      lower: { value: '2026-11', inclusive: true },
      upper: { value: '2026-12', inclusive: false },
    });
    expect(rangeToBounds({ gt: 'b', gte: 'b' }, 't').lower).toEqual({ value: 'b', inclusive: false });
  });

  it('compares by code point, not UTF-16 unit', () => {
    expect(compareCodePoints('\uFFFD', '\u{1F600}')).toBeLessThan(0);
    expect('\uFFFD' < '\u{1F600}').toBe(false);
    expect(compareCodePoints('ab', 'abc')).toBeLessThan(0);
    expect(compareCodePoints('x', 'x')).toBe(0);
  });
});

describe('conditions', () => {
  const item: Item = { pk: 'c', value: { total: 10, name: 'Ana', limits: { monthly: 5000 }, tags: ['a'] }, version: 3, updatedAt: 0 };

  it('compares numbers, strings, nested paths and deep values; other types are false', () => {
    expect(evaluateCondition({ attr: 'total', op: '<', value: 11 }, item)).toBe(true);
    expect(evaluateCondition({ attr: 'limits.monthly', op: '>=', value: 5000 }, item)).toBe(true);
    expect(evaluateCondition({ attr: 'name', op: 'begins_with', value: 'An' }, item)).toBe(true);
    expect(evaluateCondition({ attr: 'tags', op: '=', value: ['a'] }, item)).toBe(true);
    expect(evaluateCondition({ attr: 'total', op: '>', value: '1' }, item)).toBe(false);
    expect(evaluateCondition({ attr: 'missing', op: '<>', value: 1 }, item)).toBe(false);
  });

  it('item and version conditions see a missing item', () => {
    expect(evaluateCondition({ item: 'absent' }, undefined)).toBe(true);
    expect(evaluateCondition({ version: 3 }, item)).toBe(true);
    expect(evaluateCondition({ version: 1 }, undefined)).toBe(false);
    expect(evaluateCondition({ or: [{ item: 'absent' }, { not: { attr: 'total', op: '>', value: 100 } }] }, item)).toBe(true);
  });
});
