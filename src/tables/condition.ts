/**
 * The condition language of conditional writes, evaluated against the current item inside the write's
 * transaction. A comparison involving a missing attribute or values of different types is false.
 */
import { TollstreamError } from '../core/errors.ts';
import { readPath } from './paths.ts';
import type { Condition, Item, JsonValue } from './types.ts';

export function evaluateCondition(condition: Condition, item: Item | undefined): boolean {
  if ('and' in condition) return condition.and.every((c) => evaluateCondition(c, item));
  if ('or' in condition) return condition.or.some((c) => evaluateCondition(c, item));
  if ('not' in condition) return !evaluateCondition(condition.not, item);
  if ('item' in condition) return condition.item === 'absent' ? item === undefined : item !== undefined;
  if ('version' in condition) return item !== undefined && item.version === condition.version;
  const actual = item === undefined ? undefined : readPath(item.value, condition.attr);
  switch (condition.op) {
    case 'attribute_exists':
      return actual !== undefined;
    case 'attribute_not_exists':
      return actual === undefined;
    case 'begins_with':
      return typeof actual === 'string' && actual.startsWith(condition.value);
    default:
      return actual !== undefined && compare(actual, condition.op, condition.value);
  }
}

function compare(actual: JsonValue, op: '=' | '<>' | '<' | '<=' | '>' | '>=', expected: JsonValue): boolean {
  if (op === '=') return deepEqual(actual, expected);
  if (op === '<>') return !deepEqual(actual, expected);
  let order: number;
  if (typeof actual === 'number' && typeof expected === 'number') order = actual - expected;
  else if (typeof actual === 'string' && typeof expected === 'string') order = compareCodePoints(actual, expected);
  else return false;
  switch (op) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

function deepEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i] as JsonValue));
  }
  const ak = Object.keys(a);
  const bo = b as Record<string, JsonValue>;
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => k in bo && deepEqual((a as Record<string, JsonValue>)[k] as JsonValue, bo[k] as JsonValue));
}

/** Orders strings by Unicode code point (UTF-16 `<` does not, for characters above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const OPS = new Set(['=', '<>', '<', '<=', '>', '>=', 'attribute_exists', 'attribute_not_exists', 'begins_with']);

/** Rejects malformed conditions up front, so a typo is an error rather than a condition that never holds. */
export function assertCondition(condition: unknown, path = 'condition'): asserts condition is Condition {
  const bad = (why: string): never => {
    throw new TollstreamError('INVALID_ARGUMENT', `${path} ${why}`, { context: { path } });
  };
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) return bad('must be an object');
  const c = condition as Record<string, unknown>;
  if ('and' in c || 'or' in c) {
    const list = c.and ?? c.or;
    if (!Array.isArray(list) || list.length === 0) return bad('.and/.or must be a non-empty array of conditions');
    list.forEach((x, i) => assertCondition(x, `${path}.${'and' in c ? 'and' : 'or'}[${i}]`));
    return;
  }
  if ('not' in c) return assertCondition(c.not, `${path}.not`);
  if ('item' in c) {
    if (c.item !== 'absent' && c.item !== 'present') bad(".item must be 'absent' or 'present'");
    return;
  }
  if ('version' in c) {
    if (!Number.isSafeInteger(c.version) || (c.version as number) < 1) bad('.version must be a positive integer');
    return;
  }
  if (typeof c.attr !== 'string' || c.attr === '') return bad('needs one of item, version, attr, and, or, not');
  if (typeof c.op !== 'string' || !OPS.has(c.op)) return bad(`.op must be one of ${[...OPS].join(' ')}`);
  if (c.op === 'begins_with' && typeof c.value !== 'string') bad('.value must be a string for begins_with');
  if (c.op !== 'attribute_exists' && c.op !== 'attribute_not_exists' && c.value === undefined) bad(`.value is required for ${c.op}`);
}
