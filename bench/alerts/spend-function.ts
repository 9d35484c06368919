/**
 * The threshold function alone, without a server: `windowsHandler` over synthetic `customer_spend` records
 * (as the SQL job writes them) against a temp tables file, and `checkToll` (the validation function's check)
 * over synthetic tolls. Prints records per second and main-thread CPU per record for each.
 *
 *   node bin/run-ts.mjs bench/alerts/spend-function.ts [--records 200000] [--batch 500] [--customers 10000]
 *     [--per-window 1] [--synchronous full|normal] [--only windows|tolls] [--round 20000] [--earlier-days 0]
 *
 * `--batch` takes a list too (`--batch 500,2000`): the windows part then applies `--round` records with each
 * batch size in turn, over and over on the same tables, and prints the CPU per record of every round and the
 * median per size, so sizes compare under the same load of a shared machine.
 *
 * `--per-window` is how many records of one customer a batch holds in a row (1: every record another customer,
 * as with 10,000 customers and 1 s windows; higher: busy customers). A tenth of the customers have a threshold
 * that the traffic crosses, so breaches are published too. `--earlier-days N` first gives every customer spend on
 * each of the month's first N days (one window record a day, applied by the same handler and not measured), as
 * late in a month, when the totals hold many days. Bounded: at most 2 million records, 30 s per part;
 * removes its temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SpendLedger } from '../../src/apps/abc-tolls/ledger.ts';
import { checkToll, windowsHandler, type SpendPathStats } from '../../src/apps/abc-tolls/spend-function.ts';
import { ensureStoreTables, TABLES } from '../../src/apps/abc-tolls/tables.ts';
import type { FunctionContext, FunctionEvent, FunctionRecord } from '../../src/functions/index.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { openNotify } from '../../src/notify/index.ts';
import { openTables, sqliteTableStore } from '../../src/tables/index.ts';
import { silentLogger } from '../../src/core/logger.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '500' },
    round: { type: 'string', default: '20000' },
    customers: { type: 'string', default: '10000' },
    'per-window': { type: 'string', default: '1' },
    synchronous: { type: 'string', default: 'full' },
    only: { type: 'string' },
    'earlier-days': { type: 'string', default: '0' },
  },
});
const records = Math.min(2_000_000, Number(values.records));
const batchSizes = values.batch.split(',').map(Number);
const batchSize = batchSizes[0]!;
const roundRecords = Number(values.round);
const customers = Number(values.customers);
const perWindow = Number(values['per-window']);
const earlierDays = Math.min(25, Number(values['earlier-days']));
const synchronous = values.synchronous === 'normal' ? 'normal' : 'full';
const MAX_MS = 30_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function functionRecord(stream: string, sequence: number, text: string): FunctionRecord {
  const data = encoder.encode(text);
  return {
    stream,
    shardId: 'shardId-000000000000',
    sequenceNumber: String(sequence).padStart(20, '0'),
    partitionKey: 'p',
    data,
    arrivalTime: 0,
    text: () => decoder.decode(data),
    json: <T>() => JSON.parse(decoder.decode(data)) as T,
  };
}

const customerId = (i: number) => `C${String((i * 7919) % customers).padStart(6, '0')}`;

/** One window record per customer on each of the month's first `earlierDays` days, before the measured ones. */
function earlierRecords(): FunctionRecord[] {
  const out: FunctionRecord[] = [];
  for (let d = 1; d <= earlierDays; d++) {
    const start = Date.UTC(2026, 10, d, 8);
    const day = new Date(start).toISOString().slice(0, 10);
    for (let c = 0; c < customers; c++) {
      const row = { window_start: new Date(start).toISOString(), window_end: new Date(start + 1000).toISOString(), customer_id: customerId(c), month: '2026-11', day, total_cents: 1, transactions: 1 };
      out.push(functionRecord('customer_spend', out.length + 1, JSON.stringify(row)));
    }
  }
  return out;
}

/** Window records of 1 s windows from 2026-11-26T08:00Z, `perWindow` in a row per customer. */
function windowRecords(): FunctionRecord[] {
  const out: FunctionRecord[] = [];
  const base = Date.UTC(2026, 10, 26, 8);
  for (let i = 0; i < records; i++) {
    const start = base + Math.floor(i / 4000) * 1000;
    const row = {
      window_start: new Date(start).toISOString(),
      window_end: new Date(start + 1000).toISOString(),
      customer_id: customerId(Math.floor(i / perWindow)),
      month: '2026-11',
      day: '2026-11-26',
      total_cents: 100 + (i % 900),
      transactions: 1 + (i % 3),
    };
    out.push(functionRecord('customer_spend', i + 1, JSON.stringify(row)));
  }
  return out;
}

function tollRecords(): FunctionRecord[] {
  const out: FunctionRecord[] = [];
  const base = Date.UTC(2026, 10, 26, 8);
  for (let i = 0; i < records; i++) {
    const toll = {
      transaction_id: `tx-${i}`,
      customer_id: customerId(i),
      tag_id: `TAG-${i % 50000}`,
      plate: `ABC${i % 1000}`,
      plaza_id: `P${i % 20}`,
      lane: 1 + (i % 6),
      vehicle_class: 1 + (i % 5),
      amount_cents: 100 + (i % 900),
      currency: 'USD',
      event_time: new Date(base + i).toISOString(),
    };
    out.push(functionRecord('toll_transactions', i + 1, JSON.stringify(toll)));
  }
  return out;
}

function report(part: string, applied: number, wallMs: number, cpu: NodeJS.CpuUsage, extra: Record<string, unknown> = {}): void {
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    JSON.stringify({
      part,
      records: applied,
      seconds: Number((wallMs / 1000).toFixed(2)),
      recordsPerSecond: Math.round(applied / (wallMs / 1000)),
      recordsPerCpuSecond: Math.round(applied / (cpuMs / 1000)),
      cpuMicrosPerRecord: Number(((cpuMs * 1000) / applied).toFixed(2)),
      ...extra,
    }),
  );
}

async function benchWindows(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tollstream-bench-spend-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'interval', fsyncIntervalMs: 1000 });
  const tables = openTables({ path: path.join(dir, 'tables.db'), synchronous });
  const notify = openNotify({ tables });
  try {
    await ensureStoreTables(sqliteTableStore(tables));
    notify.createTopic('spend-alerts', { kind: 'inbox', customerField: 'customer_id' });
    await log.createStream('customer_spend_errors', { shardCount: 1, dedupe: { mode: 'key' } });
    // Every tenth customer has a threshold its traffic crosses about half way through the run.
    const perCustomerCents = (records / customers) * 550;
    tables.transaction((tx) => {
      for (let c = 0; c < customers; c += 10) {
        const id = customerId(c);
        tx.put(TABLES.customers, { pk: id }, { customer_id: id, name: id, email: `${id}@example.com`, threshold_cents: Math.round(perCustomerCents / 2), created_at: 0 });
      }
    });
    const stats: SpendPathStats = { stream: 'customer_spend', recordsApplied: 0, recordsInvalid: 0, recordsOutsideCutover: 0, breachesPublished: 0 };
    const handler = windowsHandler({ ledger: new SpendLedger(), log, errorStream: 'customer_spend_errors', stats });
    const earlier = earlierRecords();
    const input = windowRecords();
    const store = sqliteTableStore(tables);
    const context: FunctionContext = {
      mapping: 'bench',
      attempt: 1,
      logger: silentLogger,
      tables: store,
      transact: (fn) =>
        store.transaction(async (tx) => {
          const out = await fn(tx);
          await tx.setCheckpoint('function:bench', 'customer_spend', 'shardId-000000000000', String(applied).padStart(20, '0'));
          return out;
        }),
    };
    let applied = 0;
    const apply = async (from: number, to: number, size: number, until = Infinity) => {
      for (let i = from; i < to && performance.now() < until; i += size) {
        const event: FunctionEvent = { mapping: 'bench', stream: 'customer_spend', shardId: 'shardId-000000000000', records: input.slice(i, Math.min(i + size, to)) };
        await handler(event, context);
        applied += event.records.length;
      }
    };
    for (let i = 0; i < earlier.length; i += 2000) {
      await handler({ mapping: 'bench', stream: 'customer_spend', shardId: 'shardId-000000000000', records: earlier.slice(i, i + 2000) }, context);
    }
    earlier.length = 0;
    if (batchSizes.length > 1) {
      const rounds = new Map<number, number[]>(batchSizes.map((b) => [b, []]));
      const start = performance.now();
      for (let from = 0; from + roundRecords <= input.length && performance.now() - start < MAX_MS; ) {
        for (const size of batchSizes) {
          if (from + roundRecords > input.length) break;
          const cpu = process.cpuUsage();
          await apply(from, from + roundRecords, size);
          const used = process.cpuUsage(cpu);
          rounds.get(size)!.push(Number(((used.user + used.system) / roundRecords).toFixed(2)));
          from += roundRecords;
        }
      }
      for (const [size, us] of rounds) {
        const median = [...us].sort((a, b) => a - b)[Math.floor(us.length / 2)];
        console.log(JSON.stringify({ part: 'windowsHandler', batchSize: size, cpuMicrosPerRecordByRound: us, median, customers, perWindow, synchronous }));
      }
      return;
    }
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    await apply(0, input.length, batchSize, start + MAX_MS);
    const wallMs = performance.now() - start;
    report('windowsHandler', applied, wallMs, process.cpuUsage(cpuStart), { batchSize, customers, perWindow, synchronous, breaches: stats.breachesPublished });
  } finally {
    await notify.stop();
    tables.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchTolls(): void {
  const input = tollRecords();
  let valid = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let i = 0;
  for (; i < input.length && (i % 10_000 !== 0 || performance.now() - start < MAX_MS); i++) {
    if (!('reason' in checkToll(input[i]!, { currency: 'USD', maxAmountCents: 100_000 }))) valid++;
  }
  report('checkToll', i, performance.now() - start, process.cpuUsage(cpuStart), { valid });
}

if (values.only !== 'tolls') await benchWindows();
if (values.only !== 'windows') benchTolls();
