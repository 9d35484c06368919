/**
 * `emittedUpTo` of a query's output (QueryInfo.outputs): a consumer reading the output stream after seeing time
 * T there finds every row the query gives for times before T, so it knows a window's rows are complete.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AppendRecord, StreamLog } from '../../src/log/index.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { appendTolls, canonical, FLUSH_CUSTOMER, flushRecords, openLog, readAll, reference, SPEND_SQL, tempDir, traffic, waitFor } from './support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The real log, except that appends to `held` wait while the gate is closed. */
function gatedLog(log: StreamLog, held: string): { log: StreamLog; open: () => void } {
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = new Promise((r) => (release = r));
  const wrapped = Object.create(log, {
    append: {
      value: async (stream: string, records: readonly AppendRecord[]) => {
        if (stream === held && gate) await gate;
        return log.append(stream, records);
      },
    },
  }) as StreamLog;
  return {
    log: wrapped,
    open: () => {
      gate = null;
      release!();
    },
  };
}

type SpendRow = Record<string, unknown> & { window_end: string };

describe.each([
  ['on the main thread', 0],
  ['on a query thread', 1],
])('the output complete up to a time (%s)', (_where, threads) => {
  it('never runs ahead of the rows in the output stream, and reaches the last window', async () => {
    const { dir, cleanup } = await tempDir('queries-upto-');
    const base = await openLog(dir);
    await base.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } });
    const gated = gatedLog(base, 'customer_spend');
    const m = new QueryManager({ log: gated.log, dir: `${dir}/queries`, checkpointIntervalMs: 100_000, threads });
    cleanups.push(cleanup, async () => {
      gated.open();
      await m.close();
      await base.close();
    });
    await m.start();
    await m.createQuery({ name: 'spend', sql: SPEND_SQL });
    const records = traffic(3000, 5);
    const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
    const flush = await flushRecords(base, 'toll_transactions', last);
    const expected = (await reference(SPEND_SQL, 'toll_transactions', [...records, ...flush.map((f) => f.record)], 'customer_spend')).map((r) => JSON.parse(r) as SpendRow);
    const lastEnd = Math.max(...expected.map((r) => Date.parse(r.window_end)));

    // The output's appends are held: windows close and their rows wait, so no time may be reported yet.
    await appendTolls(base, 'toll_transactions', records.slice(0, 1000));
    await waitFor(() => m.info('spend').stats.pendingOutputRows > 0, 'closed windows to wait for their append');
    const firstEnd = Math.min(...expected.map((r) => Date.parse(r.window_end)));
    const held = m.info('spend').outputs[0]!.emittedUpTo;
    // Before any window ends it may advance (there is nothing to wait for), not to the first window's end.
    if (held !== null) expect(Date.parse(held)).toBeLessThan(firstEnd);
    gated.open();

    // Each time seen, read at once: every row of a window ending at or before it must be there.
    const seen = new Set<string>();
    const check = async (): Promise<void> => {
      const upTo = m.info('spend').outputs[0]!.emittedUpTo;
      if (upTo === null || seen.has(upTo)) return;
      seen.add(upTo);
      const present = new Set(canonical((await readAll(base, 'customer_spend')).filter((r) => r.customer_id !== FLUSH_CUSTOMER)));
      const due = expected.filter((r) => Date.parse(r.window_end) <= Date.parse(upTo));
      const missing = canonical(due).filter((r) => !present.has(r));
      expect(missing, `rows of windows ending by ${upTo} missing from the stream`).toEqual([]);
    };
    // Each chunk carries later event times, so the watermark, and with it the time, moves after every one.
    for (let i = 1000; i < records.length; i += 250) {
      const before = m.info('spend').outputs[0]!.emittedUpTo;
      await appendTolls(base, 'toll_transactions', records.slice(i, i + 250));
      await waitFor(async () => {
        await check();
        return m.info('spend').outputs[0]!.emittedUpTo !== before;
      }, 'the output time to move after a chunk');
      await check();
    }
    await base.append('toll_transactions', flush.map((f) => ({ data: Buffer.from(JSON.stringify(f.record)), partitionKey: FLUSH_CUSTOMER, explicitHashKey: f.explicitHashKey })));
    await waitFor(async () => {
      await check();
      const upTo = m.info('spend').outputs[0]!.emittedUpTo;
      return upTo !== null && Date.parse(upTo) >= lastEnd;
    }, 'the output to be complete past the last window');
    expect(seen.size).toBeGreaterThanOrEqual(8);
    const out = canonical((await readAll(base, 'customer_spend')).filter((r) => r.customer_id !== FLUSH_CUSTOMER));
    expect(out).toEqual(canonical(expected));
  });
});
