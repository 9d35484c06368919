import fs from 'node:fs';
import readline from 'node:readline';
import { TollstreamError } from '../../core/errors.ts';
import { NativeClient, type PutRecordsResponse } from '../client.ts';
import { CLIENT_OPTIONS, intFlag, stringFlag, type Command, type Io } from '../command.ts';
import { count } from '../format.ts';

/** Requests in flight at once: enough to overlap the server's fsyncs, few enough to stay polite. */
const IN_FLIGHT = 4;
/** Per-record failures printed before the rest are only counted. */
const MAX_FAILURES_SHOWN = 10;
const PROGRESS_EVERY_MS = 500;

interface Batch {
  readonly lines: string[];
  /** The input line number of each record, for error messages. */
  readonly lineNumbers: number[];
}

export const put: Command = {
  name: 'put',
  summary: 'Send NDJSON records (one JSON value per line) from FILE or stdin to a stream.',
  args: 'STREAM [FILE]',
  positionals: { min: 1, max: 2 },
  stoppable: true,
  description:
    'Each line is one record; its data is the exact bytes of the line. Blank lines are skipped. Records go in batches with a few\n' +
    'requests in flight; a line that is not JSON stops the run and is named by its number. Exits 1 if any record failed.',
  options: {
    'partition-key-field': { type: 'string', value: 'F', description: 'use the string value of field F as the partition key (default: random)' },
    'idempotency-key-field': { type: 'string', value: 'G', description: "use field G as the record's idempotency key" },
    batch: { type: 'string', value: 'N', description: 'records per request (default 500)' },
    ...CLIENT_OPTIONS,
  },
  examples: [
    'tollstream put toll_transactions transactions.ndjson --partition-key-field plaza_id',
    'gunzip -c day.ndjson.gz | tollstream put toll_transactions --batch 1000',
  ],
  async run(input) {
    const { values, positionals, io } = input;
    const stream = positionals[0]!;
    const file = positionals[1];
    const batchSize = intFlag(values, 'batch', { min: 1, max: 10_000 }) ?? 500;
    const query: Record<string, string> = {};
    const partitionKeyField = stringFlag(values, 'partition-key-field');
    const idempotencyKeyField = stringFlag(values, 'idempotency-key-field');
    if (partitionKeyField !== undefined) query.partitionKeyField = partitionKeyField;
    if (idempotencyKeyField !== undefined) query.idempotencyKeyField = idempotencyKeyField;
    const client = NativeClient.fromInput(input);

    const source = file === undefined || file === '-' ? io.stdin : openInput(file);
    if (source === io.stdin && (io.stdin as { isTTY?: boolean }).isTTY) io.stderr.write('reading NDJSON from the terminal; end with Ctrl-D\n');
    const tally = { sent: 0, failed: 0, duplicates: 0, shown: 0 };
    const progress = startProgress(io, tally);
    const inFlight = new Set<Promise<void>>();
    let fatal: unknown;

    const send = (batch: Batch) => {
      const p = client
        .putRecords(stream, batch.lines.join('\n') + '\n', query)
        .then((res) => record(res, batch, tally, io))
        .catch((err: unknown) => {
          fatal ??= err;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };

    let batch: Batch = { lines: [], lineNumbers: [] };
    let lineNumber = 0;
    const lines = readline.createInterface({ input: source, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        lineNumber++;
        if (fatal !== undefined || io.signal.aborted) break;
        if (line.trim() === '') continue;
        try {
          JSON.parse(line);
        } catch (err) {
          throw new TollstreamError('INVALID_ARGUMENT', `line ${lineNumber} is not valid JSON: ${(err as Error).message}`, {
            context: { line: lineNumber, ...(file ? { file } : {}) },
          });
        }
        batch.lines.push(line);
        batch.lineNumbers.push(lineNumber);
        if (batch.lines.length >= batchSize) {
          send(batch);
          batch = { lines: [], lineNumbers: [] };
          while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
        }
      }
      if (batch.lines.length > 0 && fatal === undefined && !io.signal.aborted) send(batch);
    } finally {
      lines.close();
      await Promise.all(inFlight);
      progress.stop();
      io.stdout.write(`sent ${tally.sent} record${tally.sent === 1 ? '' : 's'}, ${tally.failed} failed\n`);
      if (tally.duplicates > 0) io.stderr.write(`${count(tally.duplicates)} of them were duplicates the stream already held\n`);
    }
    if (fatal !== undefined) throw fatal;
    if (io.signal.aborted) {
      io.stderr.write('interrupted: the rest of the input was not sent\n');
      return 130;
    }
    return tally.failed > 0 ? 1 : 0;
  },
};

function openInput(file: string): fs.ReadStream {
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (err) {
    throw new TollstreamError('INVALID_ARGUMENT', `cannot read ${file}: ${(err as Error).message}`, { context: { file }, cause: err });
  }
  return fs.createReadStream(file);
}

function record(res: PutRecordsResponse, batch: Batch, tally: { sent: number; failed: number; duplicates: number; shown: number }, io: Io): void {
  tally.failed += res.failedRecordCount;
  res.records.forEach((outcome, i) => {
    if (outcome.error) {
      if (tally.shown++ < MAX_FAILURES_SHOWN) {
        io.stderr.write(`line ${batch.lineNumbers[i]}: ${outcome.error.code}: ${outcome.error.message}\n`);
      } else if (tally.shown === MAX_FAILURES_SHOWN + 1) {
        io.stderr.write('(more failures are counted but not shown)\n');
      }
    } else {
      tally.sent++;
      if (outcome.duplicate) tally.duplicates++;
    }
  });
}

/** A self-overwriting line on stderr, only when a person is watching it. */
function startProgress(io: Io, tally: { sent: number }): { stop(): void } {
  if (!io.stderr.isTTY) return { stop() {} };
  const started = Date.now();
  const timer = setInterval(() => {
    const seconds = (Date.now() - started) / 1000;
    io.stderr.write(`\r\x1b[Ksent ${count(tally.sent)} records (${count(Math.round(tally.sent / Math.max(seconds, 0.001)))} records/s)`);
  }, PROGRESS_EVERY_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      io.stderr.write('\r\x1b[K');
    },
  };
}
