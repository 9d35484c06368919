/**
 * Reading fields of an AWS request (decoded from JSON or CBOR, see wire.ts) the way the AWS services answer
 * bad ones: a value of the wrong type is a SerializationException (MALFORMED_REQUEST), a value outside its
 * declared constraints a ValidationException (VALIDATION_FAILED).
 */
import { TollstreamError } from '../../core/errors.ts';

export type Json = Record<string, unknown>;

const wrongType = (field: string, expected: string) =>
  new TollstreamError('MALFORMED_REQUEST', `'${field}' must be ${expected}`, { context: { field } });

const invalid = (field: string, message: string) =>
  new TollstreamError('VALIDATION_FAILED', `1 validation error detected: Value at '${field}' failed to satisfy constraint: ${message}`, {
    context: { field },
  });

export interface StringRule {
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: RegExp;
}

export function optionalString(input: Json, field: string, rule: StringRule = {}): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw wrongType(field, 'a string');
  if (rule.min !== undefined && value.length < rule.min) throw invalid(field, `Member must have length greater than or equal to ${rule.min}`);
  if (rule.max !== undefined && value.length > rule.max) throw invalid(field, `Member must have length less than or equal to ${rule.max}`);
  if (rule.pattern && !rule.pattern.test(value)) throw invalid(field, `Member must satisfy regular expression pattern: ${rule.pattern.source}`);
  return value;
}

export function requiredString(input: Json, field: string, rule: StringRule = {}): string {
  const value = optionalString(input, field, rule);
  if (value === undefined) throw invalid(field, 'Member must not be null');
  return value;
}

export function optionalInteger(input: Json, field: string, min: number, max: number): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(field, 'an integer');
  if (value < min) throw invalid(field, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw invalid(field, `Member must have value less than or equal to ${max}`);
  return value;
}

export function requiredInteger(input: Json, field: string, min: number, max: number): number {
  const value = optionalInteger(input, field, min, max);
  if (value === undefined) throw invalid(field, 'Member must not be null');
  return value;
}

/**
 * Epoch seconds (what the SDKs send over JSON), an ISO date string, or a CBOR tag-1 timestamp (decoded to a
 * Date); returns ms since the epoch.
 */
export function optionalTimestamp(input: Json, field: string): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.getTime();
  if (typeof value === 'number' && Number.isFinite(value)) return Math.round(value * 1000);
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return Date.parse(value);
  throw wrongType(field, 'a timestamp (epoch seconds)');
}

export function requiredArray(input: Json, field: string, min: number, max: number): unknown[] {
  const value = input[field];
  if (value === undefined || value === null) throw invalid(field, 'Member must not be null');
  if (!Array.isArray(value)) throw wrongType(field, 'a list');
  if (value.length < min) throw invalid(field, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw invalid(field, `Member must have length less than or equal to ${max}`);
  return value;
}

export function asObject(value: unknown, field: string): Json {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) throw wrongType(field, 'an object');
  return value as Json;
}

/**
 * A blob field: a CBOR byte string as it is, or base64 text (JSON). Node's base64 decoder skips characters
 * outside the alphabet silently, so the decoded length is checked against the text's length to refuse such
 * input.
 */
export function requiredBlob(input: Json, field: string): Buffer {
  const value = input[field];
  if (value === undefined || value === null) throw invalid(field, 'Member must not be null');
  if (Buffer.isBuffer(value)) return value;
  if (typeof value !== 'string') throw wrongType(field, 'a base64 string');
  const decoded = Buffer.from(value, 'base64');
  let padding = 0;
  if (value.endsWith('==')) padding = 2;
  else if (value.endsWith('=')) padding = 1;
  if (decoded.length !== Math.floor(((value.length - padding) * 3) / 4)) {
    throw new TollstreamError('MALFORMED_REQUEST', `'${field}' is not valid base64`, { context: { field } });
  }
  return decoded;
}

/** Characters, as Kinesis counts them (code points), without splitting the common short case. */
export function characterCount(value: string): number {
  if (value.length <= 256) return value.length;
  let count = 0;
  for (const _ of value) count++;
  return count;
}
