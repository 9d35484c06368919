/**
 * Append rate of the JetStream log on a 3-server JetStream cluster started on 127.0.0.1 (Debian's nats-server,
 * temp dirs, removed after). Bounded: a few seconds per scenario.
 *
 *   node bin/run-ts.mjs bench/log/jetstream.ts [--seconds 3] [--shards 2] [--appenders 4]
 *
 * 500-record batches of ~200-byte JSON toll records from concurrent appenders, with 1 and 3 replicas, with and
 * without dedupe, from one node and from two nodes appending to the same shards (their publishes then race on
 * JetStream's expected-last-sequence check). All servers and clients share this machine's cores, so the figures
 * show the backend's overhead and its contention behaviour, not what separate machines would do.
 */
import { parseArgs } from 'node:util';
import { openJetStreamLog } from '../../src/log/index.ts';
import type { AppendRecord, DedupeConfig, JetStreamStreamLog } from '../../src/log/index.ts';
import { startNatsCluster } from '../../bin/nats-cluster.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '3' }, shards: { type: 'string', default: '2' }, appenders: { type: 'string', default: '4' } },
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

function tollRecord(): AppendRecord {
  const n = txCounter++;
  const plate = PLATE_KEYS[(n * 7919) % PLATES]!;
  const data = Buffer.allocUnsafe(TEMPLATE.length);
  TEMPLATE.copy(data);
  data.write(n.toString(36).padStart(10, '0'), ID_AT, 'latin1');
  data.write(plate, PLATE_AT, 'latin1');
  return { partitionKey: plate, data };
}

const cluster = await startNatsCluster();
let run = 0;
const rows: string[] = [];

async function scenario(label: string, replicas: number, dedupe: DedupeConfig | undefined, nodes: number): Promise<void> {
  const prefix = `bench${process.pid}x${++run}`;
  const logs: JetStreamStreamLog[] = [];
  for (let i = 0; i < nodes; i++) logs.push(await openJetStreamLog({ servers: i % 2 ? [...cluster.urls].reverse() : cluster.urls, prefix, replicas }));
  await logs[0]!.createStream('tolls', { shardCount: SHARDS, ...(dedupe ? { dedupe } : {}) });
  for (const log of logs) await log.describeStream('tolls');
  const batches = Array.from({ length: 64 }, () => Array.from({ length: BATCH }, tollRecord));
  let records = 0;
  let failed = 0;
  const latencies: number[] = [];
  const deadline = performance.now() + SECONDS * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: APPENDERS }, async (_, a) => {
      const log = logs[a % nodes]!;
      for (let k = a; performance.now() < deadline; k += APPENDERS) {
        const start = performance.now();
        const res = await log.append('tolls', batches[k % batches.length]!.map(() => tollRecord()));
        latencies.push(performance.now() - start);
        for (const r of res) r.ok ? records++ : failed++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((x, y) => x - y);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
  const row = `${label.padEnd(44)} ${String(Math.round(records / seconds)).padStart(8)} rec/s  append p50 ${p(0.5)} ms, p99 ${p(0.99)} ms  client CPU ${((cpu.user + cpu.system) / 1000 / records * 1000).toFixed(2)} µs/rec${failed ? `  FAILED ${failed}` : ''}`;
  rows.push(row);
  console.log(row);
  for (const log of logs) await log.close();
}

console.log(`JetStream log append, ${BATCH}-record batches, ${APPENDERS} appenders, ${SHARDS} shards, ${SECONDS} s per scenario, 3 nats-server ${cluster.urls.join(' ')}`);
try {
  await scenario('1 replica, no dedupe, 1 node', 1, undefined, 1);
  await scenario('3 replicas, no dedupe, 1 node', 3, undefined, 1);
  await scenario('3 replicas, dedupe by field, 1 node', 3, { mode: 'field', field: 'transaction_id' }, 1);
  await scenario('3 replicas, no dedupe, 2 nodes on the same shards', 3, undefined, 2);
  await scenario('3 replicas, dedupe by field, 2 nodes, same shards', 3, { mode: 'field', field: 'transaction_id' }, 2);
} finally {
  await cluster.close();
}
