/**
 * The settings of a deployed function: every event source knob of a mapping (checked by `resolveMapping`, the
 * one place their defaults and ranges live) plus the limits of the worker thread a deployed handler runs in.
 * Used for requests (`/v1/functions`), the CLI's flags and the config file's `functions.deploy` alike.
 */
import { TollstreamError } from '../core/errors.ts';
import { resolveMapping } from './mapping.ts';
import type { EventSourceMapping } from './types.ts';

/** The settings a deployed function may give (the mapping knobs and its worker's limits); each one left out takes its default. */
export interface FunctionSettings extends Omit<EventSourceMapping, 'name' | 'stream' | 'handler'> {
  /** An invocation running longer is stopped (its worker terminated) and fails; 1 to 900 seconds. @default 3 (Lambda's) */
  readonly timeoutSeconds?: number;
  /** The worker's memory limit: its JavaScript heap plus the Buffers and ArrayBuffers it holds; a handler past it is stopped and fails; 16 to 4096 MiB. @default 128 */
  readonly memoryMiB?: number;
}

export const FUNCTION_LIMIT_DEFAULTS = { timeoutSeconds: 3, memoryMiB: 128 } as const;
const LIMIT_RANGES = { timeoutSeconds: [1, 900], memoryMiB: [16, 4096] } as const;

/** The mapping knobs, in the order the docs list them. */
export const MAPPING_SETTING_KEYS = [
  'batchSize',
  'batchingWindowMs',
  'startingPosition',
  'parallelizationFactor',
  'maximumRetryAttempts',
  'maximumRecordAgeSeconds',
  'bisectBatchOnFunctionError',
  'onFailure',
  'retryBaseDelayMs',
  'retryMaxDelayMs',
] as const;

export const SETTING_KEYS: readonly (keyof FunctionSettings)[] = [...MAPPING_SETTING_KEYS, 'timeoutSeconds', 'memoryMiB'];

const FUNCTION_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function assertFunctionName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !FUNCTION_NAME.test(name)) {
    throw new TollstreamError('INVALID_ARGUMENT', `a function name must be 1 to 64 letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}`, {
      context: { field: 'name' },
    });
  }
}

/**
 * Checks settings from outside (a request body, a config file) and returns them with only known keys.
 * Throws INVALID_ARGUMENT naming the setting.
 */
export function checkFunctionSettings(name: string, stream: string, value: unknown): FunctionSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TollstreamError('INVALID_ARGUMENT', `function '${name}': settings must be an object`, { context: { function: name } });
  }
  const settings = value as Record<string, unknown>;
  const unknown = Object.keys(settings).find((k) => !(SETTING_KEYS as readonly string[]).includes(k));
  if (unknown !== undefined) {
    throw new TollstreamError('INVALID_ARGUMENT', `function '${name}': unknown setting '${unknown}'; known: ${SETTING_KEYS.join(', ')}`, {
      context: { function: name, field: unknown },
    });
  }
  for (const key of ['timeoutSeconds', 'memoryMiB'] as const) {
    const v = settings[key];
    const [min, max] = LIMIT_RANGES[key];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < min || (v as number) > max)) {
      throw new TollstreamError('INVALID_ARGUMENT', `function '${name}': ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, {
        context: { function: name, field: key },
      });
    }
  }
  const onFailure = settings.onFailure;
  if (onFailure !== undefined && (typeof onFailure !== 'object' || onFailure === null || typeof (onFailure as { stream?: unknown }).stream !== 'string' || Object.keys(onFailure).length !== 1)) {
    throw new TollstreamError('INVALID_ARGUMENT', `function '${name}': onFailure must be { "stream": NAME }`, { context: { function: name, field: 'onFailure' } });
  }
  if (settings.bisectBatchOnFunctionError !== undefined && typeof settings.bisectBatchOnFunctionError !== 'boolean') {
    throw new TollstreamError('INVALID_ARGUMENT', `function '${name}': bisectBatchOnFunctionError must be true or false`, { context: { function: name, field: 'bisectBatchOnFunctionError' } });
  }
  // The mapping knobs: resolveMapping holds their defaults and ranges.
  const mapping: EventSourceMapping = { ...(settings as FunctionSettings), name, stream, handler: () => undefined };
  resolveMapping(mapping);
  return Object.fromEntries(SETTING_KEYS.filter((k) => settings[k] !== undefined).map((k) => [k, settings[k]])) as FunctionSettings;
}

/** The worker limits of these settings, defaults filled in. */
export function functionLimits(settings: FunctionSettings): { timeoutMs: number; memoryMiB: number } {
  return {
    timeoutMs: (settings.timeoutSeconds ?? FUNCTION_LIMIT_DEFAULTS.timeoutSeconds) * 1000,
    memoryMiB: settings.memoryMiB ?? FUNCTION_LIMIT_DEFAULTS.memoryMiB,
  };
}

/** The mapping knobs of these settings, for `FunctionsRuntime.start`. */
export function mappingSettings(settings: FunctionSettings): Omit<EventSourceMapping, 'name' | 'stream' | 'handler'> {
  return Object.fromEntries(MAPPING_SETTING_KEYS.filter((k) => settings[k] !== undefined).map((k) => [k, settings[k]]));
}
