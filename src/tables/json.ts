/**
 * Values are stored as JSON text. JSON itself keeps integers exact; the risk is in JavaScript numbers, so
 * every value is checked before it is written: integers must be safe (|n| <= 2^53-1), numbers finite, and
 * only plain objects, arrays, strings, booleans and null are accepted, so what is read back equals what
 * was written.
 */
import { TollstreamError } from '../core/errors.ts';
import type { JsonObject, JsonValue } from './types.ts';

const MAX_DEPTH = 32;

/** Throws INVALID_ARGUMENT naming the offending path unless `value` is a JSON object that round-trips exactly. */
export function assertJsonObject(value: unknown, what = 'value'): asserts value is JsonObject {
  if (!isPlainObject(value)) {
    throw new TollstreamError('INVALID_ARGUMENT', `${what} must be a plain JSON object, got ${describe(value)}`, {
      context: { path: what },
    });
  }
  assertJsonValue(value, what);
}

export function assertJsonValue(value: unknown, path: string, depth = 0): asserts value is JsonValue {
  if (depth > MAX_DEPTH) {
    throw new TollstreamError('INVALID_ARGUMENT', `${path} nests deeper than ${MAX_DEPTH} levels; flatten it`, { context: { path } });
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TollstreamError('INVALID_ARGUMENT', `${path} is ${value}, which JSON cannot hold; use a finite number`, {
          context: { path },
        });
      }
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        throw new TollstreamError(
          'INVALID_ARGUMENT',
          `${path} is ${value}, an integer beyond ±(2^53-1) that would not stay exact; store it as a string`,
          { context: { path } },
        );
      }
      return;
    case 'object':
      if (value === null) return;
      if (Array.isArray(value)) {
        value.forEach((v, i) => assertJsonValue(v, `${path}[${i}]`, depth + 1));
        return;
      }
      if (isPlainObject(value)) {
        for (const [k, v] of Object.entries(value)) assertJsonValue(v, `${path}.${k}`, depth + 1);
        return;
      }
      break;
    default:
      break;
  }
  throw new TollstreamError('INVALID_ARGUMENT', `${path} is ${describe(value)}, which is not JSON; convert it first`, {
    context: { path },
  });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'an unknown class'}`;
  return `a ${typeof value}`;
}
