/**
 * The crash test is only as good as its verifier: these cases prove it notices a lost, reordered or
 * duplicated record, and accepts the duplicates a producer retry explains.
 */
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from './producer.ts';
import { verifyAgainstLedger, type ReadBackRecord } from './verify.ts';

function entry(producer: number, partitionKey: string, counter: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  const id = `run-p${producer}-${partitionKey}-${counter}`;
  const data = Buffer.from(JSON.stringify({ transaction_id: id, producer, key_counter: counter }));
  return { id, producer, partitionKey, counter, data, attempts: 1, explicitFailures: 0, acknowledged: true, ...overrides };
}

function ledgerOf(entries: readonly LedgerEntry[]): Map<string, LedgerEntry> {
  return new Map(entries.map((e) => [e.id, e]));
}

/** The records as a shard would hold them, in this order. */
function stored(entries: readonly LedgerEntry[]): ReadBackRecord[] {
  return entries.map((e, i) => ({ shardId: 'shardId-000000000000', sequenceNumber: String(1000 + i), partitionKey: e.partitionKey, data: e.data }));
}

describe('verifyAgainstLedger', () => {
  const a0 = entry(0, 'a', 0);
  const a1 = entry(0, 'a', 1);
  const a2 = entry(0, 'a', 2);
  const b0 = entry(1, 'a', 0);

  it('accepts a stream holding every acknowledged record once, in order', () => {
    const outcome = verifyAgainstLedger(stored([a0, b0, a1, a2]), ledgerOf([a0, a1, a2, b0]), { deduped: false });
    expect(outcome.problems).toEqual([]);
    expect(outcome.acknowledged).toBe(4);
  });

  it('reports an acknowledged record that is missing', () => {
    const outcome = verifyAgainstLedger(stored([a0, a2]), ledgerOf([a0, a1, a2]), { deduped: false });
    expect(outcome.problems).toEqual([`${a1.id}: acknowledged but missing`]);
  });

  it('accepts a missing record that was never acknowledged', () => {
    const lost = entry(0, 'a', 3, { acknowledged: false });
    expect(verifyAgainstLedger(stored([a0, a1, a2]), ledgerOf([a0, a1, a2, lost]), { deduped: false }).problems).toEqual([]);
  });

  it('reports records of one producer and key out of order', () => {
    const outcome = verifyAgainstLedger(stored([a0, a2, a1]), ledgerOf([a0, a1, a2]), { deduped: false });
    expect(outcome.problems).toHaveLength(1);
    expect(outcome.problems[0]).toContain('appears after counter 2');
  });

  it('does not hold a record that PutRecords reported failed to the order of the first attempt', () => {
    const retried = entry(0, 'a', 1, { explicitFailures: 1 });
    expect(verifyAgainstLedger(stored([a0, a2, retried]), ledgerOf([a0, retried, a2]), { deduped: false }).problems).toEqual([]);
  });

  it('accepts a second copy of a record sent in two requests, without dedupe', () => {
    const retried = entry(0, 'a', 1, { attempts: 2 });
    const outcome = verifyAgainstLedger(stored([a0, retried, retried, a2]), ledgerOf([a0, retried, a2]), { deduped: false });
    expect(outcome.problems).toEqual([]);
    expect(outcome.retryDuplicates).toBe(1);
  });

  it('reports a second copy of a record sent only once', () => {
    const outcome = verifyAgainstLedger(stored([a0, a1, a1]), ledgerOf([a0, a1]), { deduped: false });
    expect(outcome.problems).toEqual([`${a1.id}: appears 2 times, but was sent in only 1 request(s) that could have stored it`]);
  });

  it('reports any second copy in a deduplicated stream, even of a retried record', () => {
    const retried = entry(0, 'a', 1, { attempts: 2 });
    const outcome = verifyAgainstLedger(stored([a0, retried, retried]), ledgerOf([a0, retried]), { deduped: true });
    expect(outcome.problems).toHaveLength(1);
    expect(outcome.problems[0]).toContain('the stream deduplicates');
  });

  it('reports a record stored with other bytes or another partition key than sent', () => {
    const records = stored([a0, a1]);
    records[0] = { ...records[0]!, partitionKey: 'z' };
    records[1] = { ...records[1]!, data: Buffer.from(JSON.stringify({ transaction_id: a1.id, producer: 9 })) };
    const problems = verifyAgainstLedger(records, ledgerOf([a0, a1]), { deduped: false }).problems;
    expect(problems).toEqual([
      `${a0.id}: read back with partition key 'z', sent with 'a'`,
      `${a1.id}: data read back differs from the bytes sent`,
    ]);
  });

  it('reports a record no producer sent', () => {
    const stranger = entry(7, 'a', 0);
    const problems = verifyAgainstLedger(stored([a0, stranger]), ledgerOf([a0]), { deduped: false }).problems;
    expect(problems).toEqual([`shardId-000000000000/1001: record ${stranger.id} was never sent`]);
  });
});
