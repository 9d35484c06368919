/** Validation of names and keys, sort key ranges and query cursors. */
import { TollstreamError } from '../core/errors.ts';
import { compareCodePoints } from './condition.ts';
import type { SortKeyRange } from './types.ts';

const TABLE_NAME = /^[A-Za-z0-9_.-]{1,255}$/;
/** Keys are compared and indexed as text; 1024 UTF-16 units keeps the index small, as DynamoDB's 2048 bytes does. */
export const MAX_KEY_LENGTH = 1024;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function assertTableName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !TABLE_NAME.test(name)) {
    throw new TollstreamError('INVALID_ARGUMENT', `table name '${String(name)}' must be 1-255 characters of A-Z a-z 0-9 _ . -`, {
      context: { table: name },
    });
  }
}

export function assertKeyPart(value: unknown, what: string, table: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH || LONE_SURROGATE.test(value)) {
    throw new TollstreamError(
      'INVALID_ARGUMENT',
      `${what} must be a non-empty string of at most ${MAX_KEY_LENGTH} characters of well-formed Unicode`,
      { context: { table, [what]: typeof value === 'string' ? value.slice(0, 64) : value } },
    );
  }
}

/** Inclusive/exclusive bounds on the sort key, in code point order. `undefined` is unbounded. */
export interface Bounds {
  lower?: { value: string; inclusive: boolean };
  upper?: { value: string; inclusive: boolean };
}

export function rangeToBounds(range: SortKeyRange | undefined, table: string): Bounds {
  const bounds: Bounds = {};
  if (!range) return bounds;
  for (const [name, v] of Object.entries(range)) {
    if (!['beginsWith', 'gt', 'gte', 'lt', 'lte'].includes(name)) {
      throw new TollstreamError('INVALID_ARGUMENT', `unknown sort key bound '${name}'; use beginsWith, gt, gte, lt, lte`, {
        context: { table },
      });
    }
    if (v !== undefined && (typeof v !== 'string' || LONE_SURROGATE.test(v))) {
      throw new TollstreamError('INVALID_ARGUMENT', `sort key bound '${name}' must be a string`, { context: { table } });
    }
  }
  if (range.gt !== undefined) tightenLower(bounds, range.gt, false);
  if (range.gte !== undefined) tightenLower(bounds, range.gte, true);
  if (range.lt !== undefined) tightenUpper(bounds, range.lt, false);
  if (range.lte !== undefined) tightenUpper(bounds, range.lte, true);
  if (range.beginsWith !== undefined && range.beginsWith !== '') {
    tightenLower(bounds, range.beginsWith, true);
    const next = prefixSuccessor(range.beginsWith);
    if (next !== undefined) tightenUpper(bounds, next, false);
  }
  return bounds;
}

export function tightenLower(bounds: Bounds, value: string, inclusive: boolean): void {
  const cur = bounds.lower;
  const order = cur === undefined ? 1 : compareCodePoints(value, cur.value);
  if (order > 0 || (order === 0 && !inclusive)) bounds.lower = { value, inclusive };
}

export function tightenUpper(bounds: Bounds, value: string, inclusive: boolean): void {
  const cur = bounds.upper;
  const order = cur === undefined ? -1 : compareCodePoints(value, cur.value);
  if (order < 0 || (order === 0 && !inclusive)) bounds.upper = { value, inclusive };
}

/**
 * The smallest string greater than every string that starts with `prefix`: drop trailing U+10FFFF and
 * increment the last code point (skipping surrogates). Undefined when no such string exists.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const points = Array.from(prefix, (c) => c.codePointAt(0) as number);
  while (points.length > 0 && points[points.length - 1] === 0x10ffff) points.pop();
  if (points.length === 0) return undefined;
  let last = (points.pop() as number) + 1;
  if (last === 0xd800) last = 0xe000;
  points.push(last);
  return String.fromCodePoint(...points);
}

interface CursorState {
  readonly t: string;
  readonly p: string;
  readonly s: string;
}

export function encodeCursor(table: string, pk: string, lastSk: string): string {
  return Buffer.from(JSON.stringify({ t: table, p: pk, s: lastSk } satisfies CursorState)).toString('base64url');
}

/** The key the previous page of a scan ended at. */
export function decodeScanCursor(cursor: string, table: string): { pk: string; sk: string } {
  let s: Partial<CursorState> | undefined;
  try {
    s = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorState>;
  } catch {
    s = undefined;
  }
  if (!s || typeof s.p !== 'string' || typeof s.s !== 'string' || s.t !== table) {
    throw new TollstreamError('INVALID_ARGUMENT', 'cursor is not one returned by a scan of this table', { context: { table } });
  }
  return { pk: s.p, sk: s.s };
}

/** The sort key the previous page ended at. */
export function decodeCursor(cursor: string, table: string, pk: string): string {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    state = undefined;
  }
  const s = state as Partial<CursorState> | undefined;
  if (!s || typeof s.s !== 'string' || s.t !== table || s.p !== pk) {
    throw new TollstreamError('INVALID_ARGUMENT', 'cursor is not one returned by a query of this table and partition key', {
      context: { table, pk },
    });
  }
  return s.s;
}
