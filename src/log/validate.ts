/** Argument checks shared by the log backends, each failing with `INVALID_ARGUMENT` or `LIMIT_EXCEEDED` and a fix. */
import { TollstreamError } from '../core/errors.ts';
import type { AppendRecord, DedupeConfig, StreamConfig, StreamTags } from './types.ts';

/** A stream name: 1 to 128 letters, digits, '_', '.' or '-' (the one definition; '.' and '..' are refused besides). */
export const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
export const MAX_RETENTION_HOURS = 87_600;
/** How long a deduplicating stream remembers a key when its config names no window, in seconds. */
export const DEFAULT_DEDUPE_WINDOW_SECONDS = 3600;
export const MAX_SHARDS = 1024;
export const MAX_RECORD_BYTES = 1024 * 1024;
export const MAX_KEY_CHARS = 256;
export const MAX_TAGS = 50;
export const MAX_CONSUMERS = 20;
const CONSUMER_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/** INVALID_ARGUMENT for an argument of the log's contract (a stream name, a shard count), whichever backend is asked. */
function invalidArgument(message: string, context: Record<string, unknown> = {}): TollstreamError {
  return new TollstreamError('INVALID_ARGUMENT', message, { context });
}

export function checkStreamName(name: string): void {
  if (typeof name !== 'string' || !STREAM_NAME.test(name) || name === '.' || name === '..') {
    throw invalidArgument(`stream name '${String(name).slice(0, 140)}' must be 1 to 128 letters, digits, '_', '.' or '-'`, { stream: name });
  }
}

export function checkShardCount(count: unknown, stream: string): number {
  if (!Number.isInteger(count) || (count as number) < 1) throw invalidArgument(`shardCount must be a positive integer, got ${String(count)}`, { stream });
  if ((count as number) > MAX_SHARDS) {
    throw new TollstreamError('LIMIT_EXCEEDED', `shardCount ${String(count)} is above the limit of ${MAX_SHARDS} open shards per stream`, { context: { stream } });
  }
  return count as number;
}

export function checkRetentionHours(hours: unknown, stream: string): number {
  if (!Number.isInteger(hours) || (hours as number) < 1 || (hours as number) > MAX_RETENTION_HOURS) {
    throw invalidArgument(`retentionHours must be an integer from 1 to ${MAX_RETENTION_HOURS}, got ${String(hours)}`, { stream });
  }
  return hours as number;
}

export function checkRetentionBytes(bytes: unknown, stream: string): number | undefined {
  if (bytes === undefined || bytes === null) return undefined;
  if (!Number.isSafeInteger(bytes) || (bytes as number) < 1) throw invalidArgument(`retentionBytes must be a positive integer, got ${String(bytes)}`, { stream });
  return bytes as number;
}

export function checkDedupe(dedupe: DedupeConfig | undefined, stream: string): DedupeConfig | undefined {
  if (dedupe === undefined) return undefined;
  if (typeof dedupe !== 'object' || dedupe === null) throw invalidArgument('dedupe must be an object { mode, field?, windowSeconds? }', { stream });
  if (dedupe.mode !== 'field' && dedupe.mode !== 'key') throw invalidArgument(`dedupe.mode must be 'field' or 'key', got '${String(dedupe.mode)}'`, { stream });
  if (dedupe.mode === 'field' && (typeof dedupe.field !== 'string' || dedupe.field === '')) {
    throw invalidArgument("dedupe.field (a top-level JSON property such as 'transaction_id') is required with mode 'field'", { stream });
  }
  if (dedupe.mode === 'key' && dedupe.field !== undefined) throw invalidArgument("dedupe.field conflicts with mode 'key'; drop one", { stream });
  const windowSeconds = dedupe.windowSeconds ?? DEFAULT_DEDUPE_WINDOW_SECONDS;
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1) throw invalidArgument(`dedupe.windowSeconds must be a positive integer, got ${String(windowSeconds)}`, { stream });
  return dedupe.mode === 'field' ? { mode: 'field', field: dedupe.field!, windowSeconds } : { mode: 'key', windowSeconds };
}

/** Tags as a fresh plain object of strings, at most MAX_TAGS of them. */
export function checkTags(tags: unknown, stream: string): Record<string, string> {
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) throw invalidArgument('tags must be an object of key to value strings', { stream });
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (key === '' || typeof value !== 'string') throw invalidArgument(`tag '${key.slice(0, 128)}' must have a non-empty key and a string value`, { stream, tag: key.slice(0, 128) });
    out[key] = value;
  }
  if (Object.keys(out).length > MAX_TAGS) throw invalidArgument(`a stream holds at most ${MAX_TAGS} tags, this change leaves ${Object.keys(out).length}`, { stream });
  return out;
}

export function checkConsumerName(consumerName: unknown, stream: string): string {
  if (typeof consumerName !== 'string' || !CONSUMER_NAME.test(consumerName)) {
    throw invalidArgument(`consumer name '${String(consumerName).slice(0, 140)}' must be 1 to 128 characters of a-z, A-Z, 0-9, '_', '.', '-'`, { stream });
  }
  return consumerName;
}

export function checkStreamMode(mode: unknown, stream: string): 'provisioned' | 'on-demand' {
  if (mode !== 'provisioned' && mode !== 'on-demand') throw invalidArgument(`stream mode must be 'provisioned' or 'on-demand', got '${String(mode).slice(0, 40)}'`, { stream });
  return mode;
}

export function checkStreamConfig(name: string, config: StreamConfig, defaultRetentionHours: number) {
  if (typeof config !== 'object' || config === null) throw invalidArgument('stream config must be an object', { stream: name });
  return {
    shardCount: checkShardCount(config.shardCount ?? 1, name),
    retentionHours: checkRetentionHours(config.retentionHours ?? defaultRetentionHours, name),
    retentionBytes: checkRetentionBytes(config.retentionBytes, name),
    dedupe: checkDedupe(config.dedupe, name),
    tags: config.tags === undefined ? undefined : checkTags(config.tags, name),
    mode: checkStreamMode(config.mode ?? 'provisioned', name),
  };
}

export function checkLimit(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1) throw invalidArgument(`${name} must be a positive integer, got ${String(value)}`);
  return value as number;
}

/** Checks one record of an append (`INVALID_ARGUMENT` naming record `i`); the whole call fails then. */
export function checkRecord(r: AppendRecord, stream: string, i: number): void {
  const pk = r?.partitionKey;
  if (typeof pk !== 'string' || pk.length === 0 || pk.length > MAX_KEY_CHARS * 2 || (pk.length > MAX_KEY_CHARS && [...pk].length > MAX_KEY_CHARS)) {
    throw new TollstreamError('INVALID_ARGUMENT', `record ${i}: partitionKey must be 1 to ${MAX_KEY_CHARS} characters`, { context: { stream, record: i } });
  }
  if (!(r.data instanceof Uint8Array)) throw new TollstreamError('INVALID_ARGUMENT', `record ${i}: data must be bytes`, { context: { stream, record: i } });
  if (r.data.length > MAX_RECORD_BYTES) {
    throw new TollstreamError('INVALID_ARGUMENT', `record ${i}: data is ${r.data.length} bytes, above the limit of ${MAX_RECORD_BYTES}`, { context: { stream, record: i } });
  }
  const idem = r.idempotencyKey;
  if (idem !== undefined && (typeof idem !== 'string' || idem.length === 0 || idem.length > MAX_KEY_CHARS)) {
    throw new TollstreamError('INVALID_ARGUMENT', `record ${i}: idempotencyKey must be 1 to ${MAX_KEY_CHARS} characters`, { context: { stream, record: i } });
  }
}
