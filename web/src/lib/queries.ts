/**
 * The continuous queries API (`/v1/queries`) as the console reads it: the answer shapes, where a SQL error
 * points in the text, and how the figures are written. Browser-free, so the tests run it under Node; a test
 * also checks these shapes against the server's own `QueryInfo`, so the two cannot drift apart silently.
 */

export type QueryState = 'STARTING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED' | 'ELSEWHERE';

export interface QueryStats {
  readonly rowsInPerSecond: number;
  readonly rowsOutPerSecond: number;
  readonly rowsInTotal: number;
  readonly rowsOutTotal: number;
  readonly lateRows: number;
  /** Error-stream rows, late rows included. */
  readonly errors: number;
  /** ISO 8601, null before the first row. */
  readonly watermark: string | null;
  readonly lagMs: number;
  readonly pendingOutputRows: number;
  readonly lastCheckpoint: { readonly id: number; readonly at: string; readonly durationMs: number; readonly bytes: number } | null;
}

export interface QueryInfo {
  readonly name: string;
  readonly sql: string;
  readonly state: QueryState;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly inputs: readonly { readonly name: string; readonly stream: string }[];
  readonly outputs: readonly { readonly name: string; readonly stream: string; readonly keyMode: string; readonly partitionKey: readonly string[] }[];
  readonly errorStream: string;
  readonly createdAt: string;
  readonly stats: QueryStats;
}

export interface CreateQueryBody {
  readonly name: string;
  readonly sql: string;
  /** The log stream behind a Kinesis-dialect application's `SOURCE_SQL_STREAM_001`. */
  readonly input?: string;
}

/** What the server accepts as a query name (it also names the error stream `<name>_errors`). */
export const QUERY_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** A sentence for a name the server would refuse, or undefined when it is fine. */
export function checkQueryName(name: string): string | undefined {
  if (name === '') return 'Enter a name for the query.';
  if (name.length > 64) return `Use at most 64 characters (this name has ${name.length}).`;
  if (!QUERY_NAME.test(name)) return "Use only letters, digits, '_' and '-' (no spaces or dots).";
  return undefined;
}

/** Where a SQL error points: lines and columns count from 1. */
export interface SqlErrorPlace {
  readonly line: number;
  readonly column: number;
}

/**
 * The line and column of a `SQL_SYNTAX`/`SQL_PLAN` error (from its context, else from the message's
 * "line L, column C" prefix), or undefined when the error points nowhere in particular.
 */
export function sqlErrorPlace(code: string, message: string, context: Readonly<Record<string, unknown>> | undefined): SqlErrorPlace | undefined {
  if (code !== 'SQL_SYNTAX' && code !== 'SQL_PLAN') return undefined;
  const line = Number(context?.line);
  const column = Number(context?.column);
  if (Number.isInteger(line) && line > 0 && Number.isInteger(column) && column > 0) return { line, column };
  const m = /^line (\d+), column (\d+):/.exec(message);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : undefined;
}

/** The offset in `text` of a line and column (clamped to the text), for putting the caret there. */
export function offsetOf(text: string, place: SqlErrorPlace): number {
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < place.line - 1 && i < lines.length; i++) offset += lines[i]!.length + 1;
  const lineText = lines[Math.min(place.line, lines.length) - 1] ?? '';
  return Math.min(text.length, offset + Math.min(Math.max(place.column - 1, 0), lineText.length));
}

/** Rows per second: whole numbers as they are, small rates with one decimal. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0';
  if (perSecond < 10) return perSecond.toFixed(1).replace(/\.0$/, '');
  return Math.round(perSecond).toLocaleString('en-US');
}

/** A duration in ms as people say it: `850 ms`, `4.2 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1).replace(/\.0$/, '') : Math.round(s)} s`;
  const totalS = Math.round(s);
  if (totalS < 3600) return `${Math.floor(totalS / 60)} min${totalS % 60 ? ` ${totalS % 60} s` : ''}`;
  const totalMin = Math.round(totalS / 60);
  return `${Math.floor(totalMin / 60)} h${totalMin % 60 ? ` ${totalMin % 60} min` : ''}`;
}

/** How long ago an ISO time was, relative to `now` (ms since the epoch): `12 s ago`, `just now`. */
export function formatAgo(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const ago = now - at;
  if (ago < 1000) return 'just now';
  return `${formatDuration(ago)} ago`;
}

/** A UTC time for the tables: `2026-11-26 10:00:05Z` (seconds; milliseconds when there are any). */
export function formatUtc(iso: string): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const text = new Date(at).toISOString().replace('T', ' ');
  return text.endsWith('.000Z') ? text.replace('.000Z', 'Z') : text;
}
