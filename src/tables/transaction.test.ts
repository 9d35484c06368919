import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTables, type Tables, type TableTx } from './index.ts';
import { tempDir, type TempDir } from './test-helpers.ts';

let dir: TempDir;
let tables: Tables;

beforeEach(() => {
  dir = tempDir();
  tables = openTables({ path: dir.dbPath });
  tables.createTable('monthly_spend', { sortKey: true });
});

afterEach(() => {
  tables.close();
  dir.remove();
});

interface SpendRecord {
  sequenceNumber: string;
  customer: string;
  cents: number;
}

/**
 * What a stream function does with a batch: skip records at or before its checkpoint, add the rest to the
 * monthly totals, and move the checkpoint, all in one transaction. `crashAfter` simulates a crash part way.
 */
function applyBatch(batch: readonly SpendRecord[], crashAfter?: number): void {
  tables.transaction((tx: TableTx) => {
    const done = tx.getCheckpoint('spend-fn', 'toll_transactions', 'shard-0')?.sequenceNumber;
    let applied = 0;
    for (const record of batch) {
      if (done !== undefined && BigInt(record.sequenceNumber) <= BigInt(done)) continue;
      tx.update('monthly_spend', { pk: record.customer, sk: '2026-11' }, { add: { total_cents: record.cents } });
      applied++;
      if (crashAfter !== undefined && applied === crashAfter) throw new Error('crash');
    }
    const last = batch[batch.length - 1];
    if (last) tx.setCheckpoint('spend-fn', 'toll_transactions', 'shard-0', last.sequenceNumber);
  });
}

const total = (customer: string) => tables.get('monthly_spend', { pk: customer, sk: '2026-11' })?.value.total_cents;

describe('transactions with checkpoints', () => {
  const batch: SpendRecord[] = [
    { sequenceNumber: '0001', customer: 'c-1', cents: 125 },
    { sequenceNumber: '0002', customer: 'c-2', cents: 300 },
    { sequenceNumber: '0003', customer: 'c-1', cents: 75 },
  ];

  it('a transaction that throws leaves neither writes nor checkpoint', () => {
    expect(() => applyBatch(batch, 2)).toThrow('crash');
    expect(total('c-1')).toBeUndefined();
    expect(total('c-2')).toBeUndefined();
    expect(tables.getCheckpoint('spend-fn', 'toll_transactions', 'shard-0')).toBeUndefined();
  });

  it('a batch redelivered after its commit has no second effect', () => {
    applyBatch(batch);
    applyBatch(batch);
    expect(total('c-1')).toBe(200);
    expect(total('c-2')).toBe(300);
    expect(tables.getCheckpoint('spend-fn', 'toll_transactions', 'shard-0')?.sequenceNumber).toBe('0003');
  });

  it('after a crash and reopen, redelivery applies the batch exactly once', () => {
    expect(() => applyBatch(batch, 1)).toThrow('crash');
    tables.close();
    tables = openTables({ path: dir.dbPath });
    applyBatch(batch);
    applyBatch([...batch, { sequenceNumber: '0004', customer: 'c-2', cents: 1 }]);
    expect(total('c-1')).toBe(200);
    expect(total('c-2')).toBe(301);
    expect(tables.listCheckpoints('spend-fn')).toEqual([
      expect.objectContaining({ consumer: 'spend-fn', stream: 'toll_transactions', shardId: 'shard-0', sequenceNumber: '0004' }),
    ]);
  });

  it('returns the function result and rejects async functions without committing', async () => {
    expect(tables.transaction((tx) => tx.update('monthly_spend', { pk: 'c-9', sk: 'm' }, { add: { n: 1 } }).version)).toBe(1);
    const err = (() => {
      try {
        tables.transaction(async (tx) => {
          tx.update('monthly_spend', { pk: 'c-9', sk: 'm' }, { add: { n: 1 } });
        });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).toContain('synchronous');
    expect(tables.get('monthly_spend', { pk: 'c-9', sk: 'm' })?.value).toEqual({ n: 1 });
  });

  it('a nested transaction that throws undoes only its own writes', () => {
    tables.transaction((tx) => {
      tx.put('monthly_spend', { pk: 'outer', sk: 'm' }, { n: 1 });
      expect(() =>
        tables.transaction((inner) => {
          inner.put('monthly_spend', { pk: 'inner', sk: 'm' }, { n: 1 });
          throw new Error('inner failed');
        }),
      ).toThrow('inner failed');
    });
    expect(tables.get('monthly_spend', { pk: 'outer', sk: 'm' })).toBeDefined();
    expect(tables.get('monthly_spend', { pk: 'inner', sk: 'm' })).toBeUndefined();
  });

  it('a tx handle cannot be used after its transaction ended', () => {
    let leaked: TableTx | undefined;
    tables.transaction((tx) => {
      leaked = tx;
    });
    expect(() => leaked?.put('monthly_spend', { pk: 'a', sk: 'b' }, {})).toThrow('transaction has ended');
  });

  it('a caught conditional failure inside a transaction does not undo the other writes', () => {
    tables.transaction((tx) => {
      tx.put('monthly_spend', { pk: 'c-1', sk: 'm' }, { n: 1 });
      expect(() => tx.put('monthly_spend', { pk: 'c-1', sk: 'm' }, { n: 2 }, { condition: { item: 'absent' } })).toThrow();
      tx.setCheckpoint('f', 's', 'shard-0', '5');
    });
    expect(tables.get('monthly_spend', { pk: 'c-1', sk: 'm' })?.value).toEqual({ n: 1 });
    expect(tables.getCheckpoint('f', 's', 'shard-0')?.sequenceNumber).toBe('5');
  });
});
