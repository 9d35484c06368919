/** Messages between a benchmark and its load generator process (./worker.ts), over the IPC channel. */
import type { LatencySummary } from '../stats.ts';
import type { PoolRecord } from './bodies.ts';
import type { Credentials } from './sign.ts';

/** Builds the bodies of `records`, `batch` records each, under `name`. */
export interface PrepareMessage {
  readonly type: 'prepare';
  readonly id: number;
  readonly name: string;
  readonly kind: 'kinesis' | 'native';
  readonly stream: string;
  readonly records: readonly PoolRecord[];
  readonly batch: number;
  /** Give each record a new transaction id and event time before each sending (streams that dedupe need it). */
  readonly unique: boolean;
}

/** Sends the bodies prepared under `name` to `url`. */
export interface RunMessage {
  readonly type: 'run';
  readonly id: number;
  readonly name: string;
  readonly url: string;
  /** Records per second; undefined for a closed loop. */
  readonly rate?: number;
  readonly durationMs: number;
  /** Traffic before the measured window (closed loop), ms. */
  readonly warmupMs?: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** HTTP/2 sessions (Kinesis) or sockets (native). */
  readonly connections: number;
  readonly credentials?: Credentials;
  readonly apiKey?: string;
  readonly partitionKeyField?: string;
}

export type ToWorker = PrepareMessage | RunMessage | { readonly type: 'stop'; readonly id: number };

export interface LoadRunResult {
  /** Requests counted (closed loop: wholly inside the measured window; paced: issued in it). */
  readonly requests: number;
  /** Records acknowledged as stored by the counted requests. */
  readonly records: number;
  /** Of those, the ones that are not a retry of an earlier record. */
  readonly uniqueRecords: number;
  readonly sentRecords: number;
  readonly failedRecords: number;
  readonly failedRequests: number;
  readonly firstError?: string;
  readonly seconds: number;
  readonly wallSeconds: number;
  readonly latency: LatencySummary;
  /** The load generator's own CPU (user + system, all threads) over the measured window. */
  readonly cpuSeconds: number;
  readonly cores: number;
  /** Writing ids and times into a body, per record. */
  readonly stampUsPerRecord: number;
  /** SHA-256 of the body and SigV4 per request (Kinesis). */
  readonly signUsPerRequest: number;
}

export type ToParent =
  | { readonly type: 'ready'; readonly id: number }
  | { readonly type: 'prepared'; readonly id: number; readonly bodies: number; readonly bytesPerBody: number; readonly buildMs: number; readonly buildCpuMs: number }
  | { readonly type: 'result'; readonly id: number; readonly result: LoadRunResult }
  | { readonly type: 'error'; readonly id: number; readonly message: string };
