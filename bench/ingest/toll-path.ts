/**
 * The CPU a toll costs on the ingest -> validation -> valid-stream path, in one process and without HTTP, next
 * to JSON.parse of the same record measured in the same run (the ratios stay comparable when the machine is
 * busy). CPU time of the process (user + system, all threads) around each operation, so waiting is not counted:
 *
 *   PutRecords   the Kinesis operation on a body of 500 tolls (AWS JSON decode, checks, append to a stream of 4
 *                shards that dedupes by transaction_id), on an embedded log (fsync 'interval'); once with the
 *                body decoded as the server does, once with `JSON.parse` of the whole body as text (before
 *                src/core/json/parse.ts), alternating in runs of 20 requests (so that one way's garbage is mostly
 *                collected within its own run)
 *   validation   the ABC Tolls validation handler on the records that stream stored, in batches of 500 (parse
 *                and check each toll, append the valid ones to a stream with key dedupe), and its parse and
 *                check alone over the same records (the difference is what the second append costs)
 *
 * Every toll is unique (new ids stamped into pre-built bodies, as bench/lib/loadgen sends them), so the dedupe
 * windows do the work they do under real traffic.
 *
 *   node bin/run-ts.mjs bench/ingest/toll-path.ts [--seconds 3] [--rounds 3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { validationHandler } from '../../src/apps/abc-tolls/validate-function.ts';
import { checkToll, type SpendPathStats } from '../../src/apps/abc-tolls/spend-function.ts';
import type { FunctionContext, FunctionEvent, FunctionRecord } from '../../src/functions/index.ts';
import { resolveTarget, runOperation } from '../../src/gateway/aws/dispatch.ts';
import { benchAwsContext } from '../lib/aws-context.ts';
import { AWS_JSON, type WireFormat } from '../../src/gateway/aws/wire.ts';
import { openEmbeddedLog, type StoredRecord, type StreamLog } from '../../src/log/index.ts';
import { kinesisBody, stampBody, type Body } from '../lib/loadgen/bodies.ts';
import { simulatorPool } from '../lib/loadgen/client.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' } } });
const SECONDS = Math.min(Number(values.seconds), 30);
const ROUNDS = Math.min(Number(values.rounds), 10);
const BATCH = 500;
const STREAM = 'toll_transactions';
const VALID = 'toll_transactions_valid';

const pool = simulatorPool({ seed: 20_261_126, customers: 10_000, count: 40 * BATCH });
const bodies: Body[] = [];
for (let i = 0; i < pool.length; i += BATCH) bodies.push(kinesisBody(STREAM, pool.slice(i, i + BATCH), 'tp-'));
const ids = { next: 1, first: 1 };
const decoder = new TextDecoder();
/** AWS JSON as it was decoded before: the whole body made one string, then JSON.parse. */
const TEXT_JSON: WireFormat = { ...AWS_JSON, decode: (body) => JSON.parse(body.toString('utf8')) as ReturnType<WireFormat['decode']> };

/** A record as the functions runtime hands it to a handler. */
class Record implements FunctionRecord {
  constructor(
    readonly stream: string,
    readonly shardId: string,
    readonly sequenceNumber: string,
    readonly partitionKey: string,
    readonly data: Uint8Array,
    readonly arrivalTime: number,
  ) {}
  text(): string {
    return decoder.decode(this.data);
  }
  json<T>(): T {
    return JSON.parse(decoder.decode(this.data)) as T;
  }
}

async function readShard(log: StreamLog, shardId: string, from: { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string } | { type: 'TRIM_HORIZON' }): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  let position: Parameters<StreamLog['read']>[2] = from;
  for (;;) {
    const r = await log.read(STREAM, shardId, position, { maxRecords: 10_000 });
    out.push(...r.records);
    if (r.records.length === 0 || r.next === null) return out;
    position = r.next;
  }
}

/** CPU time of this process (all threads: the log's writes on libuv's pool count) since `from`, ns. */
function cpuNs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) * 1000;
}

interface Round {
  readonly jsonParseNs: number;
  readonly putRecordsNs: number;
  readonly putRecordsTextNs: number;
  readonly validationNs: number;
  /** The handler's parse and check alone, without the append to the valid stream. */
  readonly checkNs: number;
  readonly tolls: number;
  readonly valid: number;
}

async function round(): Promise<Round> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-toll-path-'));
  const log = await openEmbeddedLog({ dir, fsync: 'interval' });
  try {
    await log.createStream(STREAM, { shardCount: 4, dedupe: { mode: 'field', field: 'transaction_id', windowSeconds: 3600 } });
    await log.createStream(VALID, { shardCount: 1, dedupe: { mode: 'key', windowSeconds: 3600 } });
    const ctx = benchAwsContext(log);
    const putRecords = resolveTarget('Kinesis_20131202.PutRecords').run!;

    // PutRecords: time the operation only (stamping the body is the producer's work).
    const putNs = [0, 0];
    const putTolls = [0, 0];
    let tolls = 0;
    const deadline = performance.now() + 2 * SECONDS * 1000;
    for (let i = 0; performance.now() < deadline; i++) {
      const body = bodies[i % bodies.length]!;
      stampBody(body, ids, Date.now());
      const t = process.cpuUsage();
      const way = Math.floor(i / 20) % 2;
      await runOperation(ctx, putRecords, body.bytes, way === 0 ? AWS_JSON : TEXT_JSON);
      putNs[way]! += cpuNs(t);
      putTolls[way]! += body.records;
      tolls += body.records;
    }

    // The records as stored, each shard's in order, handed to the validation handler 500 at a time.
    const stored: Record[] = [];
    for (const shard of (await log.describeStream(STREAM)).shards) {
      for (const r of await readShard(log, shard.shardId, { type: 'TRIM_HORIZON' })) stored.push(new Record(STREAM, shard.shardId, r.sequenceNumber, r.partitionKey, r.data, r.arrivalTime));
    }
    const stats: SpendPathStats = { recordsApplied: 0, recordsInvalid: 0, recordsOutsideCutover: 0, breachesPublished: 0 } as SpendPathStats;
    const handler = validationHandler({ log, validStream: VALID, errorStream: `${STREAM}_errors`, currency: 'USD', maxAmountCents: 100_000_000, stats });
    const fnCtx = { transact: (fn: (tx: never) => unknown) => fn(undefined as never) } as unknown as FunctionContext;
    let validNs = 0;
    for (let i = 0; i < stored.length; i += BATCH) {
      const event: FunctionEvent = { mapping: 'bench', stream: STREAM, shardId: stored[i]!.shardId, records: stored.slice(i, i + BATCH) };
      const t = process.cpuUsage();
      await handler(event, fnCtx);
      validNs += cpuNs(t);
    }
    if (stats.recordsInvalid > 0) throw new Error(`${stats.recordsInvalid} tolls were refused as invalid`);

    // The same parse and check without the append: what the handler costs beyond it is the second append.
    const limits = { currency: 'USD', maxAmountCents: 100_000_000 };
    let checkNs = 0;
    let checked = 0;
    for (let i = 0; i < stored.length; i += BATCH) {
      const t = process.cpuUsage();
      for (let j = i; j < i + BATCH && j < stored.length; j++) if ('reason' in checkToll(stored[j]!, limits)) throw new Error('a toll was refused as invalid');
      checkNs += cpuNs(t);
      checked += Math.min(BATCH, stored.length - i);
    }

    // JSON.parse of the same records' text, the reference.
    let parseNs = 0;
    let parsed = 0;
    const parseDeadline = performance.now() + SECONDS * 1000;
    while (performance.now() < parseDeadline) {
      const t = process.cpuUsage();
      for (let i = 0; i < stored.length && i < 20_000; i++) JSON.parse(stored[i]!.text());
      parseNs += cpuNs(t);
      parsed += Math.min(stored.length, 20_000);
    }
    return { jsonParseNs: parseNs / parsed, putRecordsNs: putNs[0]! / putTolls[0]!, putRecordsTextNs: putNs[1]! / putTolls[1]!, validationNs: validNs / stored.length, checkNs: checkNs / checked, tolls, valid: stats.recordsApplied };
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`${BATCH}-toll batches of ~${Math.round(bodies[0]!.slots.reduce((n, s) => n + s.raw.length, 0) / BATCH)}-byte tolls, ${SECONDS} s per step, ${ROUNDS} rounds`);
console.log('| round | JSON.parse CPU ns/toll | PutRecords CPU ns/toll | ratio | PutRecords, body as one string | ratio | validation CPU ns/toll | ratio | of it, parse and check | tolls |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (let r = 1; r <= ROUNDS; r++) {
  const x = await round();
  console.log(`| ${r} | ${x.jsonParseNs.toFixed(0)} | ${x.putRecordsNs.toFixed(0)} | ${(x.putRecordsNs / x.jsonParseNs).toFixed(2)} | ${x.putRecordsTextNs.toFixed(0)} | ${(x.putRecordsTextNs / x.jsonParseNs).toFixed(2)} | ${x.validationNs.toFixed(0)} | ${(x.validationNs / x.jsonParseNs).toFixed(2)} | ${x.checkNs.toFixed(0)} | ${x.tolls} |`);
}
