/**
 * A flipped bit in a stored checkpoint must never reach a customer's totals: the damaged checkpoint (a delta
 * on the full one) is refused and the query resumes from the one before it, and its output still equals an
 * uninterrupted run.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { appendFlush, appendTolls, canonical, DELAY_MS, FLUSH_CUSTOMER, LATER_TOLLS_SQL, openLog, readAll, reference, SPEND_SQL, tempDir, traffic, waitFor } from './support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a damaged query checkpoint', () => {
  it.each([
    ['window aggregate', SPEND_SQL, 'customer_spend'],
    ['interval join', LATER_TOLLS_SQL, 'later_tolls'],
  ])('of a %s is refused at restart, the previous one is used, and the output equals an uninterrupted run', async (_what, sql, output) => {
    const { dir, cleanup } = await tempDir('queries-ckpt-');
    const log = await openLog(dir);
    const managers: QueryManager[] = [];
    cleanups.push(cleanup, async () => {
      for (const m of managers) await m.close();
      await log.close();
    });
    const lines: string[] = [];
    const manager = () => {
      const m = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 200, logger: createLogger({ level: 'warn', write: (l) => void lines.push(l) }) });
      managers.push(m);
      return m;
    };
    await log.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } });
    const records = traffic(4000, 13);
    await appendTolls(log, 'toll_transactions', records.slice(0, 1500));
    const first = manager();
    await first.start();
    await first.createQuery({ name: 'spend', sql });
    const folder = path.join(dir, 'queries', 'spend');
    // Two checkpoints at least, so one comes before the newest: the first is full, the second a delta on it
    // (records arrive again after the first checkpoint: a query writes one only when it has moved on).
    await appendTolls(log, 'toll_transactions', records.slice(1500, 2000));
    await waitFor(() => first.info('spend').stats.rowsInTotal >= 2000, 'the first run to take in records');
    await waitFor(async () => (await readdir(folder)).includes('checkpoint.bin'), 'a first checkpoint');
    await appendTolls(log, 'toll_transactions', records.slice(2000, 2500));
    await waitFor(() => first.info('spend').stats.rowsInTotal >= 2500, 'the first run to take in the rest');
    await waitFor(async () => (await readdir(folder)).some((f) => f.startsWith('delta-')), 'a second checkpoint');
    await first.close();
    // The newest checkpoint: a delta, or a full one (written when the deltas add up to more than a full one).
    const stored = (await readdir(folder)).filter((f) => f.startsWith('delta-') || f === 'checkpoint.bin');
    const times = await Promise.all(stored.map(async (f) => (await stat(path.join(folder, f), { bigint: true })).mtimeNs));
    const newest = stored[times.indexOf(times.reduce((a, b) => (b > a ? b : a)))]!;

    // One bit of a stored input position in it: a digit turns into another digit, the bytes still deserialize.
    const file = path.join(folder, newest);
    const bytes = await readFile(file);
    const at = bytes.toString('latin1').search(/4000000000\d{20}/);
    expect(at).toBeGreaterThan(0);
    bytes[at + 27] = bytes[at + 27]! ^ 0x01;
    await writeFile(file, bytes);

    await appendTolls(log, 'toll_transactions', records.slice(2500));
    const second = manager();
    await second.start();
    expect(second.info('spend').state).toBe('RUNNING');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ level: 'warn', query: 'spend', file, reason: expect.stringContaining('CRC32C mismatch') }),
    );
    const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
    const flush = await appendFlush(log, 'toll_transactions', last);
    await waitFor(() => second.watermarkOf('spend') >= last + 60_000 - DELAY_MS, 'the watermark to pass the last window');
    await second.checkpointNow('spend');

    // The flush records (one per shard, of the same time) join each other: the reference leaves them out.
    const rows = canonical((await readAll(log, output)).filter((r) => r.customer_id !== FLUSH_CUSTOMER));
    expect(rows.length).toBeGreaterThan(100);
    expect(rows).toEqual(await reference(sql, 'toll_transactions', [...records, ...flush], output));
  });
});
