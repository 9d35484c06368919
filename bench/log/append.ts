/**
 * Micro-benchmark of the embedded log's append path (bounded: a few seconds per scenario).
 *
 *   node bin/run-ts.mjs bench/log/append.ts [--seconds 3] [--dir DIR] [--shards 2] [--appenders 4]
 *
 * Appends 500-record batches of ~200-byte JSON toll records from 4 concurrent appenders into a 2-shard
 * stream (by default), with and without dedupe, under fsync 'always' and 'interval', and compares with the raw rate of
 * write+fdatasync of the same bytes and with JSON.parse of the same records. Then what tail readers pay to
 * have the newest batches decoded (once per batch, shared by every reader): the records built straight from
 * the record layout (what the log does) against the general decoder with a record object per record turned
 * into a stored record (`forEachRecord` + `toStored`, how file reads decode and how tail batches were decoded
 * before), the two alternating in runs over the same batches, CPU per record.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkBatch, encodeBatch, forEachRecord, setBaseOffset, type BatchHeader } from '../../src/log/batch.ts';
import { storedRecordsOf, toStored } from '../../src/log/embedded/read.ts';
import { SequenceRun, sequencePrefix } from '../../src/log/sequence.ts';
import { mainThreadCpuSeconds } from '../lib/cpu-usage.ts';
import type { StoredRecord } from '../../src/log/index.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import type { AppendRecord, DedupeConfig } from '../../src/log/index.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '3' }, dir: { type: 'string' }, shards: { type: 'string', default: '2' }, appenders: { type: 'string', default: '4' } },
});
const SECONDS = Math.min(Number(values.seconds), 30);
const BATCH = 500;
const APPENDERS = Math.min(Number(values.appenders), 64);
const SHARDS = Math.min(Number(values.shards), 64);
const PLATES = 10_000;

let txCounter = 0;
const PLATE_KEYS = Array.from({ length: PLATES }, (_, i) => `ZH${String(i).padStart(6, '0')}`);
const TEMPLATE = Buffer.from(
  JSON.stringify({
    transaction_id: 'tx-0000000000',
    plate: 'ZH000000',
    gantry_id: 'G-17',
    lane: 2,
    vehicle_class: 'car',
    amount_cents: 420,
    currency: 'CHF',
    event_time: '2026-11-26T10:15:30.123Z',
    tag_id: 'TAG123456',
  }),
);
const ID_AT = TEMPLATE.indexOf('tx-') + 3;
const PLATE_AT = TEMPLATE.indexOf('ZH000000');

/** A ~200-byte toll record with a fresh transaction id (patched into a template, so making it is cheap). */
function tollRecord(): AppendRecord {
  const n = txCounter++;
  const plate = PLATE_KEYS[(n * 7919) % PLATES]!;
  const data = Buffer.allocUnsafe(TEMPLATE.length);
  TEMPLATE.copy(data);
  data.write(n.toString(36).padStart(10, '0'), ID_AT, 'latin1');
  data.write(plate, PLATE_AT, 'latin1');
  return { partitionKey: plate, data };
}

function makeBatches(count: number): AppendRecord[][] {
  return Array.from({ length: count }, () => Array.from({ length: BATCH }, tollRecord));
}

async function runLog(label: string, fsync: 'always' | 'interval', dedupe: DedupeConfig | undefined, base: string): Promise<void> {
  const dir = await mkdtemp(path.join(base, 'bench-log-'));
  const log = await openEmbeddedLog({ dir, fsync });
  await log.createStream('tolls', { shardCount: SHARDS, ...(dedupe ? { dedupe } : {}) });
  // Made before the clock starts, so the figures are the log's own cost (more are made if a run outpaces it).
  const pool = makeBatches(800);
  let next = 0;
  let records = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuSeconds();
  await Promise.all(
    Array.from({ length: APPENDERS }, async () => {
      while (performance.now() < deadline) {
        // Fresh ids each pass so dedupe does not turn the rest of the run into duplicates.
        const batch = next < pool.length ? pool[next++]! : Array.from({ length: BATCH }, tollRecord);
        const res = await log.append('tolls', batch);
        records += res.length;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mainUs = ((mainThreadCpuSeconds() - main0) * 1e6) / records;
  const stats = log.stats();
  const fsyncs = stats.fsyncDurationsMs;
  const avgFsync = fsyncs.length ? fsyncs.reduce((a, b) => a + b, 0) / fsyncs.length : 0;
  await log.close();
  await rm(dir, { recursive: true, force: true });
  const cpuUs = (cpu.user + cpu.system) / records;
  console.log(
    `${label.padEnd(44)} ${Math.round(records / secs).toLocaleString('en').padStart(10)} records/s  ` +
      `${(cpuUs).toFixed(2)} µs CPU/record (main thread ${mainUs.toFixed(2)})  ${fsyncs.length} fsyncs (avg ${avgFsync.toFixed(2)} ms, ${(records / Math.max(fsyncs.length, 1)).toFixed(0)} records/fsync)`,
  );
}

async function runRaw(base: string): Promise<void> {
  const dir = await mkdtemp(path.join(base, 'bench-raw-'));
  const fh = await open(path.join(dir, 'raw.log'), 'w');
  const batches = makeBatches(20).map((b) => encodeBatch(b.map((r) => ({ partitionKey: r.partitionKey, data: r.data })), Date.now()));
  let pos = 0;
  let records = 0;
  let i = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  while (performance.now() < deadline) {
    const b = batches[i++ % batches.length]!;
    await fh.write(b, 0, b.length, pos);
    await fh.datasync();
    pos += b.length;
    records += BATCH;
  }
  const secs = (performance.now() - t0) / 1000;
  await fh.close();
  await rm(dir, { recursive: true, force: true });
  console.log(`${'raw write+fdatasync of one 500-record batch'.padEnd(44)} ${Math.round(records / secs).toLocaleString('en').padStart(10)} records/s  (${Math.round(records / BATCH / secs)} fsyncs/s, ${(batches[0]!.length / 1024).toFixed(0)} KiB each)`);
}

function runJsonParse(): void {
  const texts = makeBatches(10).flat().map((r) => Buffer.from(r.data));
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    for (const t of texts) JSON.parse(t.toString('utf8'));
    n += texts.length;
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`${'JSON.parse of the same records (1 core)'.padEnd(44)} ${Math.round(n / secs).toLocaleString('en').padStart(10)} records/s`);
}

/** The tail decode, the log's way against the general decoder's, alternating in runs of 20 batches. */
function runTailDecode(): void {
  const batches = makeBatches(200).map((b, i) => {
    const buf = encodeBatch(b.map((r) => ({ partitionKey: r.partitionKey, data: r.data })), Date.now());
    setBaseOffset(buf, i * BATCH);
    const check = checkBatch(buf, 0, buf.length, true);
    if (!check.ok) throw new Error(check.detail);
    return { buf, header: check.header };
  });
  const prefix = sequencePrefix(1);
  const run = new SequenceRun(prefix);
  const ways: Array<(buf: Buffer, header: BatchHeader) => StoredRecord[]> = [
    (buf, header) => storedRecordsOf(buf, 0, header, run),
    (buf, header) => {
      const out: StoredRecord[] = [];
      forEachRecord(buf, 0, header, (r) => (out.push(toStored(r, prefix)), true));
      return out;
    },
  ];
  // The same records either way, before anything is timed.
  const a = ways[0]!(batches[7]!.buf, batches[7]!.header);
  const b = ways[1]!(batches[7]!.buf, batches[7]!.header);
  if (JSON.stringify(a.map((r) => [r.sequenceNumber, r.partitionKey, r.arrivalTime, r.data.length])) !== JSON.stringify(b.map((r) => [r.sequenceNumber, r.partitionKey, r.arrivalTime, r.data.length]))) {
    throw new Error('the two decoders disagree');
  }
  // Runs of 20 batches (10,000 records), the two ways in turn; each run timed as a whole. The medians of the
  // runs and of the ratio within each pair of runs resist a busy machine better than totals.
  const perRun: number[][] = [[], []];
  const ratios: number[] = [];
  let keep = 0;
  let next = 0;
  const deadline = performance.now() + SECONDS * 1000;
  while (performance.now() < deadline) {
    const pair: number[] = [];
    for (let way = 0; way < 2; way++) {
      let n = 0;
      const t = process.cpuUsage();
      for (let k = 0; k < 20; k++) {
        const batch = batches[next++ % batches.length]!;
        keep += ways[way]!(batch.buf, batch.header).length;
        n += batch.header.recordCount;
      }
      const d = process.cpuUsage(t);
      pair.push(((d.user + d.system) * 1000) / n);
    }
    perRun[0]!.push(pair[0]!);
    perRun[1]!.push(pair[1]!);
    ratios.push(pair[0]! / pair[1]!);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  console.log(`${'tail decode, straight to stored records'.padEnd(44)} ${median(perRun[0]!).toFixed(0).padStart(10)} ns CPU/record (median of ${ratios.length} runs)`);
  console.log(`${'tail decode, forEachRecord + toStored'.padEnd(44)} ${median(perRun[1]!).toFixed(0).padStart(10)} ns CPU/record  (median ratio ${median(ratios).toFixed(2)}, ${keep} records decoded)`);
}

const base = values.dir ?? os.tmpdir();
const sample = tollRecord();
console.log(`record ~${sample.data.length} bytes, ${BATCH}-record appends, ${APPENDERS} appenders, ${SHARDS} shards, ${SECONDS}s per run, dir ${base}`);
runJsonParse();
runTailDecode();
await runRaw(base);
const dedupe: DedupeConfig = { mode: 'field', field: 'transaction_id', windowSeconds: 3600 };
await runLog('log fsync=always, dedupe by transaction_id', 'always', dedupe, base);
await runLog('log fsync=always, no dedupe', 'always', undefined, base);
await runLog('log fsync=interval, dedupe by transaction_id', 'interval', dedupe, base);
