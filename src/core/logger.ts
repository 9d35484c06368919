/**
 * Structured logs: one JSON object per line on stderr (`format: 'json'`, the default for servers),
 * or a short human line (`format: 'pretty'`). Child loggers carry fixed fields such as `component`.
 *
 * Logging never takes the process down: a line that cannot be written (stderr on a full disk, a closed pipe)
 * is dropped and counted, and the next line that gets through says how many were lost.
 */
import { writeSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  isEnabled(level: LogLevel): boolean;
  /** Lines dropped because they could not be written, since the root logger was made (children share it). */
  lostLines(): number;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'json' | 'pretty';
  /** Where lines go; it may throw, the line is then counted as lost. @default stderr (file descriptor 2) */
  write?: (line: string) => void;
}

/** What the loggers of one tree share: where lines go and how many were lost. */
interface Sink {
  write(line: string): void;
  lost: number;
  /** Lost lines not yet reported in the log itself. */
  unreported: number;
}

/**
 * Writes to file descriptor 2 directly, as Node's own stderr stream does for files and pipes (synchronously),
 * but without the stream: a failed write destroys the stream and its 'error' event, unhandled, ends the process.
 */
function writeStderr(line: string): void {
  try {
    writeSync(2, line);
  } catch (err) {
    // A non-blocking pipe that is full: queue it on the stream (whose errors are absorbed below).
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    absorbStderrErrors();
    process.stderr.write(line);
  }
}

let stderrGuarded = false;
function absorbStderrErrors(): void {
  if (stderrGuarded) return;
  stderrGuarded = true;
  process.stderr.on('error', () => undefined);
}

export function createLogger(options: LoggerOptions = {}, bound: Record<string, unknown> = {}): Logger {
  return makeLogger(options, { write: options.write ?? writeStderr, lost: 0, unreported: 0 }, bound);
}

function makeLogger(options: LoggerOptions, sink: Sink, bound: Record<string, unknown>): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'json';
  const threshold = LEVEL_RANK[level];
  const write = (line: string) => {
    try {
      if (sink.unreported > 0) {
        const n = sink.unreported;
        const note =
          format === 'json'
            ? JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'log lines were lost (the log could not be written)', lostLines: n }) + '\n'
            : `${new Date().toISOString().slice(11, 23)} WARN  ${n} log lines were lost (the log could not be written)\n`;
        sink.write(note);
        sink.unreported = 0;
      }
      sink.write(line);
    } catch {
      sink.lost++;
      sink.unreported++;
    }
  };

  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (LEVEL_RANK[lvl] < threshold) return;
    const all = { ...bound, ...fields };
    for (const [k, v] of Object.entries(all)) if (v instanceof Error) all[k] = serializeError(v);
    write(format === 'json' ? jsonLine(lvl, msg, all) : prettyLine(lvl, msg, all));
  };

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => makeLogger(options, sink, { ...bound, ...fields }),
    isEnabled: (lvl) => LEVEL_RANK[lvl] >= threshold,
    lostLines: () => sink.lost,
  };
}

/** A field JSON cannot hold (a bigint, a cycle) must not cost the line, let alone the process. */
function stringifyField(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return JSON.stringify(String(value));
  }
}

function jsonLine(lvl: string, msg: string, fields: Record<string, unknown>): string {
  let line = `{"time":"${new Date().toISOString()}","level":"${lvl}","msg":${JSON.stringify(msg)}`;
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += `,${JSON.stringify(k)}:${stringifyField(v)}`;
  return line + '}\n';
}

function prettyLine(lvl: string, msg: string, fields: Record<string, unknown>): string {
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : stringifyField(v)}`)
    .join(' ');
  return `${new Date().toISOString().slice(11, 23)} ${lvl.toUpperCase().padEnd(5)} ${msg}${extra ? ' ' + extra : ''}\n`;
}

function serializeError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const withCode = err as Error & { code?: unknown; context?: unknown };
  if (withCode.code !== undefined) out.code = withCode.code;
  if (withCode.context !== undefined) out.context = withCode.context;
  if (err.stack) out.stack = err.stack;
  return out;
}

/** A logger that drops everything; for tests and library use. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
