/**
 * Checks of request fields and query parameters. Every refusal is 400 INVALID_ARGUMENT naming the field,
 * and unknown fields are refused rather than ignored, so a body or query naming another customer can
 * never be mistaken for one that was obeyed.
 */
import { TollstreamError } from '../../../core/errors.ts';

export function invalidField(field: string, message: string, value?: unknown): TollstreamError {
  return new TollstreamError('INVALID_ARGUMENT', message, { context: { field, ...(value !== undefined ? { value: preview(value) } : {}) } });
}

/** Refuses fields outside `allowed`. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const field of Object.keys(body)) {
    if (!allowed.includes(field)) {
      throw invalidField(field, `unknown field '${field}'; this route takes ${allowed.length ? allowed.map((f) => `'${f}'`).join(', ') : 'no fields'}`);
    }
  }
}

/** Refuses query parameters outside `allowed` (and repeated ones). */
export function onlyParams(query: URLSearchParams, allowed: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (!allowed.includes(name)) {
      throw invalidField(name, `unknown query parameter '${name}'; this route takes ${allowed.length ? allowed.map((f) => `'${f}'`).join(', ') : 'none'}`);
    }
    if (seen.has(name)) throw invalidField(name, `the query parameter '${name}' is given more than once`);
    seen.add(name);
  }
}

/** A string field that may be absent. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidField(field, `${field} must be a string`, value);
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined) throw invalidField(field, `${field} is required`);
  return value;
}

/** An integer of cents, 0 or more, or null; the field must be present. */
export function centsOrNull(body: Record<string, unknown>, field: string): number | null {
  if (!(field in body)) throw invalidField(field, `${field} is required: a whole number of cents, 0 or more, or null for none`);
  const value = body[field];
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidField(field, `${field} must be a whole number of cents, 0 or more (or null for none)`, value);
  }
  return value;
}

/** A query parameter holding a non-negative integer up to `max`. */
export function integerParam(query: URLSearchParams, name: string, options: { min: number; max: number; fallback: number }): number {
  const text = query.get(name);
  if (text === null) return options.fallback;
  const value = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < options.min || value > options.max) {
    throw invalidField(name, `${name} must be a whole number from ${options.min} to ${options.max}`, text);
  }
  return value;
}

/** Path segments are percent-decoded; a broken escape is the caller's mistake. */
export function decodeSegment(segment: string, field: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidField(field, `the ${field} in the path is not correctly percent-encoded`, segment);
  }
}

/** Long values are cut in error context, so a huge field does not come back whole. */
function preview(value: unknown): unknown {
  if (typeof value === 'string') return value.length > 100 ? `${value.slice(0, 100)}...` : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return Array.isArray(value) ? '(array)' : `(${typeof value})`;
}
