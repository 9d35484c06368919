/**
 * `tollstream query --sql FILE --input NAME=FILE.ndjson [--input ...] [--stream NAME] [--explain]`: runs the
 * SQL over the files and prints every output row as NDJSON on stdout with a `_stream` field (error-stream rows
 * too), or with `--stream NAME` only that stream's rows, as they are.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isTollstreamError } from '../core/errors.ts';
import type { QueryDialect } from './ast/index.ts';
import { runQuery } from './run-query.ts';

const USAGE = `usage: tollstream query --sql FILE --input NAME=FILE.ndjson [--input ...] [--stream NAME] [--explain]
  [--allowed-lateness MS] [--idle-timeout MS] [--batch-size N] [--dialect flink|kinesis] [--debug]

Runs the statements over the files (at the end of the input, event time advances so every window closes) and
prints the output rows as NDJSON: every stream's rows with a _stream field, or with --stream NAME only that
stream's rows (error_stream is a stream too).`;

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const defaultIo: CommandIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Returns the exit code: 0 ok, 2 bad usage, 1 the query failed. */
export async function runQueryCommand(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  let sqlPath: string | null = null;
  let explain = false;
  let debug = false;
  let only: string | undefined;
  let dialect: QueryDialect | undefined;
  const inputs: Record<string, string> = {};
  const numbers: Record<string, number> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') && arg.startsWith('--') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--sql':
        sqlPath = value() ?? null;
        break;
      case '--input': {
        const v = value();
        const eq = v?.indexOf('=') ?? -1;
        if (!v || eq <= 0) {
          io.err(`error: --input takes NAME=FILE.ndjson, got ${v ?? 'nothing'}\n${USAGE}\n`);
          return 2;
        }
        inputs[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      case '--stream': {
        only = value();
        if (!only) {
          io.err(`error: --stream takes the name of an output stream\n${USAGE}\n`);
          return 2;
        }
        break;
      }
      case '--dialect': {
        const d = value();
        if (d !== 'flink' && d !== 'kinesis') {
          io.err(`error: --dialect takes flink or kinesis, got ${d ?? 'nothing'}\n${USAGE}\n`);
          return 2;
        }
        dialect = d;
        break;
      }
      case '--explain':
        explain = true;
        break;
      case '--debug':
        debug = true;
        break;
      case '--allowed-lateness':
      case '--idle-timeout':
      case '--batch-size': {
        const n = Number(value());
        if (!Number.isFinite(n) || n < 0) {
          io.err(`error: ${flag} takes a number\n${USAGE}\n`);
          return 2;
        }
        numbers[flag] = n;
        break;
      }
      case '--help':
      case '-h':
        io.out(`${USAGE}\n`);
        return 0;
      default:
        io.err(`error: unknown option ${arg}\n${USAGE}\n`);
        return 2;
    }
  }
  if (!sqlPath) {
    io.err(`error: --sql FILE is required\n${USAGE}\n`);
    return 2;
  }
  try {
    const sql = await readFile(sqlPath, 'utf8');
    const result = await runQuery({
      sql,
      dialect,
      inputs,
      explain,
      baseDir: dirname(sqlPath),
      allowedLatenessMs: numbers['--allowed-lateness'],
      idleTimeoutMs: numbers['--idle-timeout'],
      batchSize: numbers['--batch-size'],
      collect: false,
      onRow: only === undefined ? (stream, row) => io.out(`${JSON.stringify({ _stream: stream, ...row })}\n`) : (stream, row) => (stream === only ? io.out(`${JSON.stringify(row)}\n`) : undefined),
    });
    if (result.explain !== null) io.out(`${result.explain}\n`);
    const errors = Object.entries(result.metrics.errorCounts);
    if (errors.length) io.err(`error stream: ${errors.map(([k, v]) => `${v} ${k}`).join(', ')}\n`);
    return 0;
  } catch (err) {
    if (isTollstreamError(err)) {
      io.err(`error: ${err.message} (${err.code})\n`);
      if (debug && err.stack) io.err(`${err.stack}\n`);
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      io.err(`error: cannot read ${(err as NodeJS.ErrnoException).path ?? sqlPath}: no such file (SQL_INPUT)\n`);
      return 1;
    }
    throw err;
  }
}
