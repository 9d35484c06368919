/**
 * Load generators: closed-loop (as fast as the server acknowledges) for the maximum sustained rate, and
 * open-loop (requests issued on a fixed schedule) for latency at a given rate. Latency is measured from the
 * moment a request was due, so a server that stalls is charged for the requests that queue behind it.
 */
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type http from 'node:http';
import { failedRecordCount, request } from '../lib/native-client.ts';
import { sleep } from '../lib/stats.ts';

export interface LoadResult {
  /** Records acknowledged as stored during the measured window. */
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly requests: number;
  /** Records the server answered as failed (not stored), during the whole run. */
  readonly failedRecords: number;
  /** Requests that failed as a whole, during the whole run. */
  readonly failedRequests: number;
  readonly firstError?: string;
  /** Latency of each request completed in the measured window, ms. */
  readonly latenciesMs: readonly number[];
}

/** Sends one batch; resolves with the number of records the server reported failed. */
export type SendBatch = (worker: number, iteration: number) => Promise<number>;

interface ClosedLoopOptions {
  readonly concurrency: number;
  readonly batchRecords: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly send: SendBatch;
}

/** `concurrency` workers, each sending its next batch as soon as the previous one is acknowledged. */
export async function closedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const measureFrom = performance.now() + options.warmupMs;
  const measureUntil = measureFrom + options.durationMs;
  let records = 0;
  let requests = 0;
  let failedRecords = 0;
  let failedRequests = 0;
  let firstError: string | undefined;
  const latenciesMs: number[] = [];

  const worker = async (index: number) => {
    for (let iteration = 0; performance.now() < measureUntil; iteration++) {
      const sentAt = performance.now();
      try {
        const failed = await options.send(index, iteration);
        const doneAt = performance.now();
        failedRecords += failed;
        if (sentAt >= measureFrom && doneAt <= measureUntil) {
          records += options.batchRecords - failed;
          requests++;
          latenciesMs.push(doneAt - sentAt);
        }
      } catch (err) {
        failedRequests++;
        firstError ??= err instanceof Error ? err.message : String(err);
        await sleep(100);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  const seconds = options.durationMs / 1000;
  return { records, seconds, recordsPerSecond: records / seconds, requests, failedRecords, failedRequests, firstError, latenciesMs };
}

interface OpenLoopOptions {
  readonly recordsPerSecond: number;
  readonly batchRecords: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly send: SendBatch;
}

/** Issues a batch every `batchRecords / recordsPerSecond` seconds, whether or not earlier ones finished. */
export async function openLoop(options: OpenLoopOptions): Promise<LoadResult> {
  const intervalMs = (options.batchRecords / options.recordsPerSecond) * 1000;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const measureUntil = measureFrom + options.durationMs;
  const latenciesMs: number[] = [];
  const pending = new Set<Promise<void>>();
  let records = 0;
  let requests = 0;
  let failedRecords = 0;
  let failedRequests = 0;
  let firstError: string | undefined;

  for (let k = 0; ; k++) {
    const dueAt = start + k * intervalMs;
    if (dueAt >= measureUntil) break;
    const wait = dueAt - performance.now();
    if (wait > 1) await sleep(wait);
    const measured = dueAt >= measureFrom;
    const p = options
      .send(k % 1_000_000, k)
      .then((failed) => {
        failedRecords += failed;
        if (measured) {
          latenciesMs.push(performance.now() - dueAt);
          records += options.batchRecords - failed;
          requests++;
        }
      })
      .catch((err: unknown) => {
        failedRequests++;
        firstError ??= err instanceof Error ? err.message : String(err);
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
  const seconds = options.durationMs / 1000;
  return { records, seconds, recordsPerSecond: records / seconds, requests, failedRecords, failedRequests, firstError, latenciesMs };
}

/** A `SendBatch` that PutRecords one of `batches` (round robin) through `clients[worker % clients.length]`. */
export function putRecordsSender(
  clients: readonly KinesisClient[],
  stream: string,
  batches: readonly (readonly PutRecordsRequestEntry[])[],
): SendBatch {
  return async (worker, iteration) => {
    const client = clients[worker % clients.length]!;
    const batch = batches[(worker * 7 + iteration) % batches.length]!;
    const response = await client.send(new PutRecordsCommand({ StreamName: stream, Records: [...batch] }));
    return response.FailedRecordCount ?? 0;
  };
}

/** A `SendBatch` that POSTs one of `bodies` (NDJSON) to the native append endpoint. */
export function nativeAppendSender(agent: http.Agent, url: string, bodies: readonly Buffer[]): SendBatch {
  return async (worker, iteration) => {
    const body = bodies[(worker * 7 + iteration) % bodies.length]!;
    const response = await request(agent, url, 'POST', body, 'application/x-ndjson');
    if (response.status !== 200) throw new Error(`native append answered HTTP ${response.status}: ${response.body.slice(0, 300)}`);
    return failedRecordCount(response.body);
  };
}
