/**
 * A producer for the crash test: sends PutRecords in a loop and keeps an exact ledger of what the server
 * acknowledged and of every record it had to send more than once, so the verifier can tell an allowed
 * duplicate (a producer retry) from a real one.
 */
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { Rng } from '../../bench/lib/rng.ts';
import { tollTransaction } from '../../bench/lib/toll-payload.ts';

export interface LedgerEntry {
  readonly id: string;
  readonly producer: number;
  readonly partitionKey: string;
  /** Position of this record among the producer's records of the same partition key, from 0. */
  readonly counter: number;
  readonly data: Uint8Array;
  /** Requests that carried this record and may have stored it (acknowledged or outcome unknown). */
  attempts: number;
  /** Requests that reported this record as failed (not stored). */
  explicitFailures: number;
  acknowledged: boolean;
}

export interface ProducerCounters {
  requests: number;
  /** Requests that failed as a whole (connection lost, server gone or not ready). */
  failedRequests: number;
  /** Failed requests whose records may have reached the server (so a retry may duplicate them). */
  ambiguousRequests: number;
  /** Records that PutRecords reported as failed one by one. */
  recordFailures: number;
}

export interface ProducerOptions {
  readonly index: number;
  readonly stream: string;
  readonly partitionKeys: readonly string[];
  readonly batchSize: number;
  readonly runId: string;
  readonly rng: Rng;
}

export class CrashProducer {
  readonly ledger = new Map<string, LedgerEntry>();
  readonly counters: ProducerCounters = { requests: 0, failedRequests: 0, ambiguousRequests: 0, recordFailures: 0 };
  /** Records not yet acknowledged, oldest first: they are (re)sent before any new record. */
  private outbox: LedgerEntry[] = [];
  private readonly nextCounter = new Map<string, number>();
  private nextId = 0;
  private stopped = false;
  private paused = false;
  private resumeWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private inFlight = false;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KinesisClient,
    private readonly options: ProducerOptions,
  ) {}

  start(): void {
    this.loopDone = this.loop();
  }

  /** Resolves once no request is in flight; no new request starts until `resume`. */
  async pause(): Promise<void> {
    this.paused = true;
    if (!this.inFlight) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  resume(): void {
    this.paused = false;
    for (const wake of this.resumeWaiters.splice(0)) wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.resume();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.paused) {
        await new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
        continue;
      }
      this.inFlight = true;
      const backoff = await this.sendOnce();
      this.inFlight = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
      if (backoff) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private newRecord(): LedgerEntry {
    const { index, partitionKeys, rng, runId } = this.options;
    const partitionKey = rng.pick(partitionKeys);
    const counter = this.nextCounter.get(partitionKey) ?? 0;
    this.nextCounter.set(partitionKey, counter + 1);
    const id = `${runId}-p${index}-${this.nextId++}`;
    const body = { ...tollTransaction(rng, Date.now(), id), plaza_id: partitionKey, producer: index, key_counter: counter };
    const entry: LedgerEntry = {
      id,
      producer: index,
      partitionKey,
      counter,
      data: Buffer.from(JSON.stringify(body)),
      attempts: 0,
      explicitFailures: 0,
      acknowledged: false,
    };
    this.ledger.set(id, entry);
    return entry;
  }

  /** One PutRecords; returns true when the caller should back off before the next one. */
  private async sendOnce(): Promise<boolean> {
    while (this.outbox.length < this.options.batchSize) this.outbox.push(this.newRecord());
    const batch = this.outbox.slice(0, this.options.batchSize);
    this.counters.requests++;
    let response;
    try {
      response = await this.client.send(
        new PutRecordsCommand({
          StreamName: this.options.stream,
          Records: batch.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })),
        }),
      );
    } catch (err) {
      this.counters.failedRequests++;
      // A refused connection never reached the server; anything else may have stored the records.
      if (!isConnectionRefused(err)) {
        this.counters.ambiguousRequests++;
        for (const r of batch) r.attempts++;
      }
      return true;
    }
    const results = response.Records ?? [];
    if (results.length !== batch.length) {
      throw new Error(`PutRecords answered ${results.length} results for ${batch.length} records`);
    }
    const stillPending: LedgerEntry[] = [];
    batch.forEach((record, i) => {
      const result = results[i]!;
      if (result.ErrorCode) {
        record.explicitFailures++;
        this.counters.recordFailures++;
        stillPending.push(record);
      } else {
        record.attempts++;
        record.acknowledged = true;
      }
    });
    this.outbox = [...stillPending, ...this.outbox.slice(batch.length)];
    return stillPending.length > 0;
  }
}

function isConnectionRefused(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as Error & { code?: unknown }).code === 'ECONNREFUSED') return true;
  }
  return false;
}
