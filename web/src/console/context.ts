/** What every console page gets: the operator's key and JSON/text requests that carry it. */
import { ApiError, requestJson, requestText, send, type RequestOptions } from '../lib/api.ts';
import { parsePrometheusText, type MetricFamily } from '../lib/prometheus.ts';

export interface ConsoleContext {
  /** The API key, or '' in local mode (no key configured on the server). */
  readonly key: string;
  json<T>(path: string, options?: Omit<RequestOptions, 'token'>): Promise<T>;
  text(path: string, options?: Omit<RequestOptions, 'token'>): Promise<string>;
  raw(path: string, options?: Omit<RequestOptions, 'token'>): Promise<Response>;
  /** Scrapes /metrics. */
  metrics(): Promise<Map<string, MetricFamily>>;
  /** Called by pages on a 401: the key stopped working. */
  unauthorized(): void;
}

/**
 * A page draws into `container` and returns what stops its timers and streams. `path` is what follows the page's
 * id in the hash route, decoded (`#/streams/toll_transactions` gives the Streams page `['toll_transactions']`).
 */
export type Page = (container: HTMLElement, ctx: ConsoleContext, path: readonly string[]) => () => void;

export function createContext(key: string, unauthorized: () => void): ConsoleContext {
  const token = key === '' ? undefined : key;
  const guard = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) unauthorized();
      throw err;
    }
  };
  return {
    key,
    json: (path, options = {}) => guard(requestJson(path, { ...options, token })),
    text: (path, options = {}) => guard(requestText(path, { ...options, token })),
    raw: (path, options = {}) => guard(send(path, { ...options, token })),
    metrics: async () => parsePrometheusText(await guard(requestText('/metrics', { token }))),
    unauthorized,
  };
}

/** A sentence for an error shown on a page. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.isNetwork) return 'The server cannot be reached. Is it running? Retrying…';
    return `${err.message} (${err.code}, HTTP ${err.status})`;
  }
  return (err as Error)?.message ?? String(err);
}

/** Runs `tick` now and then every `ms` until stopped; a tick never overlaps the previous one. */
export function every(ms: number, tick: () => Promise<void>): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    try {
      await tick();
    } finally {
      if (!stopped) timer = setTimeout(() => void run(), ms);
    }
  };
  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
