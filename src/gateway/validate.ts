/**
 * The one request-validation kit of the HTTP routes: a JSON body as an object, unknown fields and query parameters
 * refused rather than ignored, typed fields and integer parameters checked against their range. A body that is not
 * a JSON object is 400 MALFORMED_REQUEST; a field or parameter that breaks its rule is 400 INVALID_ARGUMENT whose
 * context names it (`field`, or `parameter` for the query string) and shows a short preview of the value.
 */
import { invalidField, invalidParameter, TollstreamError } from '../core/errors.ts';

// The two errors of the kit live with the error codes, so a component below the gateway names a field the same way.
export { invalidField, invalidParameter } from '../core/errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as JSON; MALFORMED_REQUEST when it is empty, not UTF-8 or not JSON. Bytes that are not UTF-8 are
 * refused (RFC 8259 requires UTF-8) rather than replaced, so a name or text is never stored altered.
 */
export function jsonBody(body: Buffer, shape = 'JSON'): unknown {
  if (body.length === 0) throw new TollstreamError('MALFORMED_REQUEST', `the request body is empty; send ${shape}`);
  try {
    return JSON.parse(utf8.decode(body));
  } catch (err) {
    throw new TollstreamError('MALFORMED_REQUEST', `the request body is not valid UTF-8 JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** The body as a JSON object; MALFORMED_REQUEST when it is not JSON, or not an object (`shape` says what is expected). */
export function jsonObject(body: Buffer, shape = 'a JSON object'): Record<string, unknown> {
  const value = jsonBody(body, shape);
  if (!isObject(value)) throw new TollstreamError('MALFORMED_REQUEST', `the body must be ${shape}`);
  return value;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `object` itself, once every field is among `allowed`; `prefix` names a nested object (`dedupe.`). */
export function onlyFields(object: Record<string, unknown>, allowed: Iterable<string>, prefix = ''): Record<string, unknown> {
  const names = [...allowed];
  const unknown = Object.keys(object).find((k) => !names.includes(k));
  if (unknown !== undefined) throw invalidField(`${prefix}${unknown}`, `unknown field '${prefix}${unknown}'; allowed: ${names.join(', ') || 'none'}`);
  return object;
}

/**
 * `query` itself, once every parameter is among `allowed` and none is given twice (which of two values counts
 * would be a guess, so neither does).
 */
export function onlyParams(query: URLSearchParams, allowed: Iterable<string>): URLSearchParams {
  const names = [...allowed];
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (!names.includes(name)) throw invalidParameter(name, `unknown query parameter '${name}'; allowed: ${names.join(', ') || 'none'}`);
    if (seen.has(name)) throw invalidParameter(name, `the query parameter '${name}' is given more than once`);
    seen.add(name);
  }
  return query;
}

/** A string field, absent allowed unless `required`; `nonEmpty` refuses one of only white space. */
export function stringField(object: Record<string, unknown>, field: string, rule: { required: true; nonEmpty?: boolean }): string;
export function stringField(object: Record<string, unknown>, field: string, rule?: { required?: false; nonEmpty?: boolean }): string | undefined;
export function stringField(object: Record<string, unknown>, field: string, rule: { required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
  const value = object[field];
  if (value === undefined) {
    if (rule.required) throw invalidField(field, `${field} is required`);
    return undefined;
  }
  if (typeof value !== 'string' || (rule.nonEmpty && value.trim() === '')) throw invalidField(field, `${field} must be a ${rule.nonEmpty ? 'non-empty ' : ''}string`, value);
  return value;
}

/** An integer field from `min` to `max`. */
export function integerField(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidField(field, `${field} must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** An integer query parameter within a range, or its default. */
export function intParam(query: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw invalidParameter(name, `${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

/**
 * The path after `prefix`, split on `/`, each segment percent-decoded (an encoded `/` stays inside its segment);
 * 400 MALFORMED_REQUEST naming the whole path when an escape is broken. Every route of the native API reads its
 * path through this, so a broken escape is the same answer everywhere rather than an unknown route.
 */
export function pathParts(path: string, prefix = ''): string[] {
  try {
    return path.slice(prefix.length).split('/').map(decodeURIComponent);
  } catch {
    throw new TollstreamError('MALFORMED_REQUEST', `the path ${path} is not valid percent-encoding`, { context: { path } });
  }
}
