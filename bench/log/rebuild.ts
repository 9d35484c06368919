/**
 * Benchmark of opening the embedded log after a restart, which rebuilds each deduplicated stream's window
 * from the records that arrived within it (bounded: it writes the records once, then opens the log a few
 * times and stops).
 *
 *   node bin/run-ts.mjs bench/log/rebuild.ts [--records 300000] [--opens 3] [--dir DIR] [--cpu-prof FILE]
 *
 * Writes `--records` ~200-byte JSON toll records into a 2-shard stream deduplicated by the field
 * `transaction_id`, and as many into a 2-shard stream deduplicated by idempotency key, in 500-record appends
 * spread over a simulated half hour (so the shards' arrival times interleave and all of it is in the window).
 * Closes the log, then times `openEmbeddedLog` and reports µs per rebuilt key and keys/s (best and median
 * of the opens). `--cpu-prof` writes a V8 CPU profile of the opens alone (not of the writing).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openEmbeddedLog } from '../../src/log/index.ts';
import type { AppendRecord } from '../../src/log/index.ts';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '300000' }, opens: { type: 'string', default: '3' }, dir: { type: 'string' }, 'cpu-prof': { type: 'string' } },
});
const RECORDS = Math.min(Math.max(Number(values.records), 1000), 5_000_000);
const OPENS = Math.min(Math.max(Number(values.opens), 1), 10);
const BATCH = 500;
const PLATES = 10_000;

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

function tollRecord(n: number, withKey: boolean): AppendRecord {
  const plate = `ZH${String((n * 7919) % PLATES).padStart(6, '0')}`;
  const data = Buffer.allocUnsafe(TEMPLATE.length);
  TEMPLATE.copy(data);
  const id = n.toString(36).padStart(10, '0');
  data.write(id, ID_AT, 'latin1');
  data.write(plate, PLATE_AT, 'latin1');
  return withKey ? { partitionKey: plate, data, idempotencyKey: `idem-${id}` } : { partitionKey: plate, data };
}

async function main(): Promise<void> {
  const base = values.dir ?? os.tmpdir();
  const dir = await mkdtemp(path.join(base, 'bench-rebuild-'));
  const start = Date.now() - 45 * 60 * 1000;
  // Half an hour of simulated arrivals, all within the default one-hour window when the log is reopened.
  const step = (30 * 60 * 1000) / (RECORDS / BATCH);
  let clock = start;
  try {
    const log = await openEmbeddedLog({ dir, fsync: 'interval', now: () => Math.floor(clock) });
    await log.createStream('by_field', { shardCount: 2, dedupe: { mode: 'field', field: 'transaction_id' } });
    await log.createStream('by_key', { shardCount: 2, dedupe: { mode: 'key' } });
    const t0 = performance.now();
    for (let n = 0; n < RECORDS; n += BATCH) {
      const count = Math.min(BATCH, RECORDS - n);
      const field = Array.from({ length: count }, (_, i) => tollRecord(n + i, false));
      const keyed = Array.from({ length: count }, (_, i) => tollRecord(RECORDS + n + i, true));
      await Promise.all([log.append('by_field', field), log.append('by_key', keyed)]);
      clock += step;
    }
    await log.close();
    console.log(`wrote ${RECORDS.toLocaleString('en')} records to each of 2 deduplicated streams in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const times: number[] = [];
    let keys = 0;
    const profiler = values['cpu-prof'] ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    for (let i = 0; i < OPENS; i++) {
      const cpu0 = process.cpuUsage();
      const t1 = performance.now();
      const reopened = await openEmbeddedLog({ dir, fsync: 'interval' });
      const ms = performance.now() - t1;
      const cpu = process.cpuUsage(cpu0);
      keys = (reopened.stats().dedupe ?? []).reduce((sum, d) => sum + d.keys, 0);
      await reopened.close();
      times.push(ms);
      console.log(
        `open ${i + 1}: ${ms.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, ${keys.toLocaleString('en')} keys, ` +
          `${((ms * 1000) / keys).toFixed(2)} µs/key, ${Math.round(keys / (ms / 1000)).toLocaleString('en')} keys/s`,
      );
    }
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      await writeFile(values['cpu-prof']!, JSON.stringify(profile));
      profiler.disconnect();
    }
    if (keys !== 2 * RECORDS) throw new Error(`expected ${2 * RECORDS} keys after the rebuild, found ${keys}`);
    times.sort((a, b) => a - b);
    const best = times[0]!;
    const median = times[Math.floor(times.length / 2)]!;
    console.log(
      `rebuild of ${keys.toLocaleString('en')} keys: best ${best.toFixed(0)} ms (${((best * 1000) / keys).toFixed(2)} µs/key, ` +
        `${Math.round(keys / (best / 1000)).toLocaleString('en')} keys/s), median ${median.toFixed(0)} ms (${((median * 1000) / keys).toFixed(2)} µs/key); load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
