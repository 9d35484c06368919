/**
 * The failover tests' verifier finds what it is there to find: a lost, a doubled and a reordered record, the
 * last one both against the log's order of a shard and against the acknowledged order of a partition key, and
 * passes a delivery that is whole and in order; and a missing, a doubled and an unexpected notification.
 */
import { describe, expect, it } from 'vitest';
import { judgeDelivered, judgeOnce, outOfPlace, type DeliveredRow, type DeliveryExpectations } from './verify.ts';

const SHARDS = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'];
const KEYS = ['C1', 'C2', 'C3', 'C4', 'C5'];

/** 60 records of 5 keys over 3 shards (a key's shard by its number), as the log and the producer saw them. */
function world(): { rows: DeliveredRow[]; expect: DeliveryExpectations } {
  const rows: DeliveredRow[] = [];
  const logOrder = new Map<string, string[]>();
  const keyOrder = new Map<string, string[]>();
  const next = new Map<string, bigint>();
  for (let i = 0; i < 60; i++) {
    const key = KEYS[i % KEYS.length]!;
    const shardId = SHARDS[Number(key.slice(1)) % SHARDS.length]!;
    // Sequence numbers of different widths: order is numeric, not by text.
    const seq = (next.get(shardId) ?? 98n) + 1n;
    next.set(shardId, seq);
    const transactionId = `T${String(i).padStart(3, '0')}`;
    rows.push({ transactionId, shardId, sequenceNumber: String(seq) });
    (logOrder.get(shardId) ?? logOrder.set(shardId, []).get(shardId)!).push(transactionId);
    (keyOrder.get(key) ?? keyOrder.set(key, []).get(key)!).push(transactionId);
  }
  const ids = rows.map((r) => r.transactionId);
  // Rows come back from the warehouse in no particular order.
  rows.reverse();
  return { rows, expect: { acknowledged: new Set(ids), sent: new Set([...ids, 'T-unacknowledged']), logOrder, keyOrder } };
}

describe('the delivery verifier', () => {
  it('passes a whole delivery in order, with sequence numbers compared as numbers', () => {
    const { rows, expect: want } = world();
    expect(rows.some((r) => r.sequenceNumber.length === 2) && rows.some((r) => r.sequenceNumber.length === 3)).toBe(true);
    expect(judgeDelivered(rows, want)).toEqual({ lost: [], doubled: [], unknown: [], reordered: [], rows: 60 });
  });

  it('catches a lost record', () => {
    const { rows, expect: want } = world();
    const lost = rows.splice(17, 1)[0]!;
    expect(judgeDelivered(rows, want)).toMatchObject({ lost: [lost.transactionId], doubled: [], unknown: [], reordered: [] });
  });

  it('catches a doubled record, and a row of a record never sent', () => {
    const { rows, expect: want } = world();
    rows.push({ ...rows[5]! }, { transactionId: 'T-stranger', shardId: SHARDS[0]!, sequenceNumber: '5000' });
    expect(judgeDelivered(rows, want)).toMatchObject({ lost: [], doubled: [rows[5]!.transactionId], unknown: ['T-stranger'], reordered: [] });
  });

  it('catches a record delivered out of the order its shard holds (its sequence number traded with another row)', () => {
    const { rows, expect: want } = world();
    const shard = want.logOrder!.get(SHARDS[1]!)!;
    const a = rows.findIndex((r) => r.transactionId === shard[2]);
    const b = rows.findIndex((r) => r.transactionId === shard[9]);
    const [seqA, seqB] = [rows[a]!.sequenceNumber, rows[b]!.sequenceNumber];
    rows[a] = { ...rows[a]!, sequenceNumber: seqB };
    rows[b] = { ...rows[b]!, sequenceNumber: seqA };
    const verdict = judgeDelivered(rows, want);
    expect(verdict).toMatchObject({ lost: [], doubled: [], unknown: [] });
    // Two records traded places: moving those two back is the fewest moves.
    expect(verdict.reordered).toEqual([shard[2]!, shard[9]!].sort());
    // Without the log's and the keys' order there is nothing to compare with.
    expect(judgeDelivered(rows, { acknowledged: want.acknowledged, sent: want.sent }).reordered).toEqual([]);
  });

  it('catches a record in another shard than the log put it in', () => {
    const { rows, expect: want } = world();
    const i = rows.findIndex((r) => r.shardId === SHARDS[0]);
    rows[i] = { ...rows[i]!, shardId: SHARDS[2]! };
    expect(judgeDelivered(rows, { ...want, keyOrder: undefined }).reordered).toEqual([rows[i]!.transactionId]);
  });

  it('catches a partition key whose records the log itself stored out of the acknowledged order', () => {
    const { rows, expect: want } = world();
    // The warehouse agrees with the log, but the log holds C2's third toll after its fifth.
    const keyIds = want.keyOrder!.get('C2')!;
    const moved = keyIds[2]!;
    const shardId = rows.find((r) => r.transactionId === moved)!.shardId;
    const logIds = want.logOrder!.get(shardId)!.filter((id) => id !== moved);
    logIds.splice(logIds.indexOf(keyIds[4]!) + 1, 0, moved);
    const seqs = rows.filter((r) => r.shardId === shardId).map((r) => BigInt(r.sequenceNumber)).sort((x, y) => (x < y ? -1 : 1));
    const relabelled = rows.map((r) => (r.shardId === shardId ? { ...r, sequenceNumber: String(seqs[logIds.indexOf(r.transactionId)]!) } : r));
    const logOrder = new Map(want.logOrder!);
    logOrder.set(shardId, logIds);
    expect(judgeDelivered(relabelled, { ...want, logOrder, keyOrder: undefined }).reordered).toEqual([]);
    expect(judgeDelivered(relabelled, { ...want, logOrder }).reordered).toEqual([moved]);
  });

  it('names the fewest records whose move restores the order', () => {
    expect(outOfPlace(['a', 'b', 'c', 'd', 'e'], ['a', 'b', 'c', 'd', 'e'])).toEqual([]);
    expect(outOfPlace(['a', 'e', 'b', 'c', 'd'], ['a', 'b', 'c', 'd', 'e'])).toEqual(['e']);
    expect(outOfPlace(['d', 'a', 'b', 'c'], ['a', 'b', 'c', 'd'])).toEqual(['d']);
    expect(outOfPlace(['b', 'a'], ['a', 'b'])).toHaveLength(1);
    // Ids the expected order does not know are left to the other checks.
    expect(outOfPlace(['a', 'x', 'b'], ['a', 'b'])).toEqual([]);
  });
});

describe('the notification verifier', () => {
  const expected = ['breach:C1:2026-12:5000', 'breach:C2:2026-12:7000', 'station:P07:2026-12-07T09:02:00.000Z'];

  it('passes each expected notification seen once, in any order, wherever it was seen', () => {
    const node1 = [expected[2]!, expected[0]!];
    const node2 = [expected[1]!];
    expect(judgeOnce(expected, [...node1, ...node2])).toEqual({ missing: [], doubled: [], unexpected: [] });
  });

  it('catches a missing notification', () => {
    expect(judgeOnce(expected, [expected[0]!, expected[2]!])).toEqual({ missing: [expected[1]], doubled: [], unexpected: [] });
  });

  it('catches a notification doubled, also when two nodes each have it once', () => {
    const node1 = [...expected];
    const node3 = [expected[1]!];
    expect(judgeOnce(expected, [...node1, ...node3])).toEqual({ missing: [], doubled: [expected[1]], unexpected: [] });
  });

  it('catches a notification that was not expected', () => {
    expect(judgeOnce(expected, [...expected, 'station:P01:2026-12-07T09:03:00.000Z'])).toEqual({ missing: [], doubled: [], unexpected: ['station:P01:2026-12-07T09:03:00.000Z'] });
  });
});
