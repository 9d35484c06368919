import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../log/index.ts';
import { TOLL_TRANSACTIONS } from '../simulator/index.ts';
import { backoffDelay } from './backoff.ts';
import { prepareRecords, toDestinationBatch, type BufferedRecord } from './convert.ts';
import type { TransformFunction } from './types.ts';

const tx = {
  transaction_id: 'tx-1',
  customer_id: 'C1',
  tag_id: 'T1',
  plate: 'P',
  plaza_id: 'P01',
  lane: 1,
  vehicle_class: 2,
  amount_cents: 500,
  currency: 'USD',
  event_time: '2026-11-26T10:00:00Z',
};

function buffered(shardId: string, seq: number, data: unknown): BufferedRecord {
  const record: StoredRecord = { sequenceNumber: String(seq).padStart(6, '0'), partitionKey: 'k', data: new TextEncoder().encode(typeof data === 'string' ? data : JSON.stringify(data)), arrivalTime: 1_000 + seq };
  return { shardId, record };
}

describe('record transformation and format conversion', () => {
  it('uses the data the transform returns, and keeps source columns from the log', async () => {
    const transform: TransformFunction = (records) =>
      records.map((r) => ({ recordId: r.recordId, result: 'Ok', data: new TextEncoder().encode(JSON.stringify({ ...tx, amount_cents: 750 })) }));
    const [prepared] = await prepareRecords([buffered('s1', 7, { broken: true })], TOLL_TRANSACTIONS, transform, { attempts: 1, timeoutMs: 1000 });
    expect(prepared!.outcome).toEqual({ kind: 'row', row: expect.objectContaining({ amount_cents: 750, shard_id: 's1', sequence_number: '000007', arrival_time: 1_007 }) });
  });

  it('fails records the transform leaves out, answers Ok without data, or answers nonsense', async () => {
    const transform: TransformFunction = (records) => [
      { recordId: records[1]!.recordId, result: 'Ok' },
      { recordId: records[2]!.recordId, result: 'Maybe' as never },
    ];
    const prepared = await prepareRecords([buffered('s', 1, tx), buffered('s', 2, tx), buffered('s', 3, tx)], TOLL_TRANSACTIONS, transform, { attempts: 1, timeoutMs: 1000 });
    expect(prepared.map((p) => (p.outcome.kind === 'error' ? p.outcome.error.errorCode : p.outcome.kind))).toEqual([
      'transform-missing-record',
      'transform-invalid-result',
      'transform-invalid-result',
    ]);
  });

  it('fails the batch when the transform never answers', async () => {
    const never: TransformFunction = () => new Promise(() => undefined);
    const prepared = await prepareRecords([buffered('s', 1, tx)], TOLL_TRANSACTIONS, never, { attempts: 2, timeoutMs: 20 });
    expect(prepared[0]!.outcome).toMatchObject({ kind: 'error', error: { errorType: 'processing-failed', errorCode: 'transform-failed', errorMessage: expect.stringMatching(/did not answer within 20 ms/) } });
  });

  it('covers every record in the positions, dropped and failed ones too', async () => {
    const transform: TransformFunction = (records) => records.map((r, i) => ({ recordId: r.recordId, result: i === 2 ? 'Dropped' : 'Ok', data: r.data }));
    const prepared = await prepareRecords([buffered('a', 1, tx), buffered('b', 2, 'nope'), buffered('a', 3, tx)], TOLL_TRANSACTIONS, transform, { attempts: 1, timeoutMs: 1000 });
    const batch = toDestinationBatch('toll_transactions', prepared);
    expect(batch.rows).toHaveLength(1);
    expect(batch.errors.map((e) => [e.errorType, e.errorCode])).toEqual([['format-conversion-failed', 'invalid-json']]);
    expect(batch.positions).toEqual({ a: '000003', b: '000002' });
  });
});

describe('backoff', () => {
  it('grows exponentially up to the cap, never below half the ceiling', () => {
    const opts = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, opts, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, opts, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
