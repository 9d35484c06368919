/** Checks an event source mapping and fills in its defaults, naming the setting that is wrong. */
import { TollstreamError } from '../core/errors.ts';
import type { EventSourceMapping } from './types.ts';

export type ResolvedMapping = Required<Omit<EventSourceMapping, 'onFailure'>> & Pick<EventSourceMapping, 'onFailure'>;

export function resolveMapping(m: EventSourceMapping): ResolvedMapping {
  const r: ResolvedMapping = {
    name: m.name,
    stream: m.stream,
    handler: m.handler,
    batchSize: m.batchSize ?? 100,
    batchingWindowMs: m.batchingWindowMs ?? 0,
    startingPosition: m.startingPosition ?? 'LATEST',
    parallelizationFactor: m.parallelizationFactor ?? 1,
    maximumRetryAttempts: m.maximumRetryAttempts ?? -1,
    maximumRecordAgeSeconds: m.maximumRecordAgeSeconds ?? -1,
    bisectBatchOnFunctionError: m.bisectBatchOnFunctionError ?? false,
    onFailure: m.onFailure,
    retryBaseDelayMs: m.retryBaseDelayMs ?? 100,
    retryMaxDelayMs: m.retryMaxDelayMs ?? 10_000,
  };
  const bad = (key: string, rule: string, value: unknown) =>
    new TollstreamError('INVALID_ARGUMENT', `event source mapping '${m.name}': ${key} ${rule}, got ${JSON.stringify(value)}`, {
      context: { mapping: m.name, key },
    });
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(r.name)) throw bad('name', 'must be 1-128 letters, digits or _.:-', r.name);
  if (typeof r.handler !== 'function') throw bad('handler', 'must be a function', typeof r.handler);
  const intIn = (key: keyof ResolvedMapping, min: number, max: number, extra?: number) => {
    const v = r[key] as number;
    if (!Number.isInteger(v) || ((v < min || v > max) && v !== extra)) {
      throw bad(key, `must be an integer from ${min} to ${max}${extra !== undefined ? ` or ${extra}` : ''}`, v);
    }
  };
  intIn('batchSize', 1, 10_000);
  intIn('batchingWindowMs', 0, 300_000);
  intIn('parallelizationFactor', 1, 10);
  intIn('maximumRetryAttempts', 0, 10_000, -1);
  intIn('maximumRecordAgeSeconds', 1, 604_800, -1);
  intIn('retryBaseDelayMs', 1, 3_600_000);
  intIn('retryMaxDelayMs', 1, 3_600_000);
  const sp = r.startingPosition;
  if (sp !== 'LATEST' && sp !== 'TRIM_HORIZON' && !(typeof sp === 'object' && Number.isFinite(sp.timestamp))) {
    throw bad('startingPosition', "must be 'LATEST', 'TRIM_HORIZON' or { timestamp }", sp);
  }
  return r;
}
