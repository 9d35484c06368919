/**
 * The recent log lines of each deployed function, for `tollstream functions logs`: what its handler logged or
 * printed, and what the runtime said about it (failed invocations, batches given up on). Kept in memory, the
 * last `capacity` lines per function; the server log has them all.
 */
import type { Logger, LogLevel } from '../core/logger.ts';

export interface FunctionLogLine {
  /** ISO 8601. */
  readonly time: string;
  readonly level: Exclude<LogLevel, 'silent'>;
  /** `handler`: the handler's logger, stdout or stderr; `runtime`: the functions runtime about this function. */
  readonly source: 'handler' | 'runtime';
  readonly msg: string;
  readonly fields?: Record<string, unknown>;
}

export class FunctionLogs {
  readonly #lines = new Map<string, FunctionLogLine[]>();
  readonly #capacity: number;
  readonly #now: () => number;

  constructor(options: { capacity?: number; now?: () => number } = {}) {
    this.#capacity = options.capacity ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Starts keeping lines of `name` (lines of other mappings are not kept). */
  track(name: string): void {
    if (!this.#lines.has(name)) this.#lines.set(name, []);
  }

  forget(name: string): void {
    this.#lines.delete(name);
  }

  add(name: string, line: Omit<FunctionLogLine, 'time'>): void {
    const lines = this.#lines.get(name);
    if (!lines) return;
    lines.push({ time: new Date(this.#now()).toISOString(), ...line });
    if (lines.length > this.#capacity) lines.splice(0, lines.length - this.#capacity);
  }

  /** The last `limit` lines of `name`, oldest first. */
  tail(name: string, limit: number): readonly FunctionLogLine[] {
    const lines = this.#lines.get(name) ?? [];
    return lines.slice(Math.max(0, lines.length - limit));
  }

  /**
   * A logger for the functions runtime that writes to `base` and also keeps each line about a tracked
   * function (a line whose `mapping` field names it).
   */
  capture(base: Logger, bound: Record<string, unknown> = {}): Logger {
    const emit = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
      base[level](msg, fields);
      const mapping = fields?.mapping ?? bound.mapping;
      if (typeof mapping === 'string' && this.#lines.has(mapping)) this.add(mapping, { level, source: 'runtime', msg, ...(fields ? { fields: plain(fields) } : {}) });
    };
    return {
      debug: emit('debug'),
      info: emit('info'),
      warn: emit('warn'),
      error: emit('error'),
      child: (fields) => this.capture(base.child(fields), { ...bound, ...fields }),
      isEnabled: (level) => base.isEnabled(level),
      lostLines: () => base.lostLines(),
    };
  }
}

/** Fields as JSON would show them (an Error as its name and message). */
function plain(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? { name: v.name, message: v.message, ...((v as { code?: unknown }).code === undefined ? {} : { code: (v as { code?: unknown }).code }) } : v;
  return out;
}
