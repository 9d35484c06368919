/**
 * What the wire format costs the gateway per record: a 500-record PutRecords of ~200-byte toll records,
 * decoded and its records validated (the request side), and a 500-record GetRecords response encoded, in AWS
 * JSON 1.1 and in CBOR (the Java SDK's format): the format's own CPU cost. Then the whole PutRecords
 * operation (decode, validate, append to an embedded log under fsync 'interval', encode the answer) in each
 * format, without HTTP.
 *
 *   node bin/run-ts.mjs bench/ingest/wire-formats.ts [--seconds 2]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveTarget, runOperation } from '../../src/gateway/aws/dispatch.ts';
import { benchAwsContext } from '../lib/aws-context.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { AWS_CBOR, AWS_JSON, blob, timestamp, type WireFormat } from '../../src/gateway/aws/wire.ts';
import { asObject, requiredArray, requiredBlob, requiredString } from '../../src/gateway/aws/input.ts';
import { javaCbor } from '../../test/support/java-cbor.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } });
const SECONDS = Math.min(Number(values.seconds), 30);
const BATCH = 500;

const record = (i: number) =>
  Buffer.from(
    JSON.stringify({
      transaction_id: `tx-${String(i).padStart(10, '0')}`,
      plate: `ZH${String(i % 10_000).padStart(6, '0')}`,
      gantry_id: 'G-17',
      lane: 2,
      vehicle_class: 'car',
      amount_cents: 420,
      currency: 'CHF',
      event_time: '2026-11-26T10:15:30.123Z',
      tag_id: 'TAG123456',
    }),
  );
const records = Array.from({ length: BATCH }, (_, i) => ({ data: record(i), partitionKey: `ZH${String(i).padStart(6, '0')}` }));

const jsonRequest = Buffer.from(
  JSON.stringify({ StreamName: 'tolls', Records: records.map((r) => ({ Data: r.data.toString('base64'), PartitionKey: r.partitionKey })) }),
);
const cborRequest = javaCbor({ StreamName: 'tolls', Records: records.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })) });

const arrival = Date.now();
const response = {
  Records: records.map((r, i) => ({
    SequenceNumber: `4963${String(i).padStart(52, '0')}`,
    ApproximateArrivalTimestamp: timestamp(arrival + i),
    Data: blob(r.data),
    PartitionKey: r.partitionKey,
  })),
  MillisBehindLatest: 0,
  NextShardIterator: 'x'.repeat(200),
};

function putRecordsSide(format: WireFormat, body: Buffer): number {
  const input = format.decode(body);
  let bytes = 0;
  for (const entry of requiredArray(input, 'Records', 1, BATCH)) {
    const e = asObject(entry, 'Records.n');
    bytes += requiredBlob(e, 'Data').length + requiredString(e, 'PartitionKey').length;
  }
  return bytes;
}

async function perRecordNs(run: () => unknown): Promise<number> {
  for (let i = 0; i < 50; i++) await run();
  const deadline = performance.now() + SECONDS * 1000;
  let batches = 0;
  const started = performance.now();
  while (performance.now() < deadline) {
    await run();
    batches++;
  }
  return ((performance.now() - started) * 1e6) / (batches * BATCH);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-wire-bench-'));
const log = await openEmbeddedLog({ dir, fsync: 'interval' });
await log.createStream('tolls', { shardCount: 2 });
const ctx = benchAwsContext(log);
const putRecords = resolveTarget('Kinesis_20131202.PutRecords').run!;

const rows = [
  ['PutRecords request, decode + read fields', 'json', await perRecordNs(() => putRecordsSide(AWS_JSON, jsonRequest)), jsonRequest.length],
  ['PutRecords request, decode + read fields', 'cbor', await perRecordNs(() => putRecordsSide(AWS_CBOR, cborRequest)), cborRequest.length],
  ['GetRecords response, encode', 'json', await perRecordNs(() => AWS_JSON.encode(response)), Buffer.byteLength(AWS_JSON.encode(response))],
  ['GetRecords response, encode', 'cbor', await perRecordNs(() => AWS_CBOR.encode(response)), Buffer.byteLength(AWS_CBOR.encode(response))],
  ['PutRecords operation into the log', 'json', await perRecordNs(() => runOperation(ctx, putRecords, jsonRequest, AWS_JSON)), jsonRequest.length],
  ['PutRecords operation into the log', 'cbor', await perRecordNs(() => runOperation(ctx, putRecords, cborRequest, AWS_CBOR)), cborRequest.length],
] as const;
await log.close();
await rm(dir, { recursive: true, force: true });

console.log(`${BATCH}-record batches of ~${records[0]!.data.length}-byte records, ${SECONDS} s per row`);
console.log('| step | format | ns/record | bytes/batch |');
console.log('| --- | --- | ---: | ---: |');
for (const [step, format, ns, bytes] of rows) console.log(`| ${step} | ${format} | ${ns.toFixed(0)} | ${bytes} |`);
