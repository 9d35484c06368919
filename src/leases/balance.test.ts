import { describe, expect, it } from 'vitest';
import { fairShare, leaseToRequest, shouldHandOver, takeable } from './balance.ts';
import type { Lease, LeaseTable } from './types.ts';

/** A table from owner -> number of live leases held, plus `free` unowned and `expired` expired ones. */
function table(held: Record<string, number>, options: { free?: number; expired?: number; dead?: readonly string[] } = {}): LeaseTable {
  const leases: Lease[] = [];
  let n = 0;
  const add = (owner: string | null, expiresInMs: number) => leases.push({ key: `k${n++}`, owner, epoch: 1, expiresInMs, wantedBy: null });
  for (const [owner, count] of Object.entries(held)) for (let i = 0; i < count; i++) add(owner, 5000);
  for (let i = 0; i < (options.free ?? 0); i++) add(null, -1);
  for (let i = 0; i < (options.expired ?? 0); i++) add('gone', -10);
  const dead = new Set(options.dead ?? []);
  return { leases, liveOwners: Object.keys(held).filter((o) => !dead.has(o)).sort() };
}

const first = () => 0;

describe('fair share and what to take, ask for or hand over', () => {
  it('divides the leases by the live owners, counting the asking owner, rounding up', () => {
    expect(fairShare(table({ a: 4, b: 3, c: 3 }), 'a')).toBe(4);
    expect(fairShare(table({ a: 4, b: 3, c: 3 }), 'd')).toBe(3);
    expect(fairShare(table({}, { free: 5 }), 'a')).toBe(5);
  });

  it('takes only unowned and expired leases', () => {
    const t = table({ a: 2 }, { free: 1, expired: 2 });
    expect(takeable(t).map((l) => l.owner)).toEqual([null, 'gone', 'gone']);
  });

  it('asks the most loaded live owner for one lease, only where that moves toward a fair share', () => {
    // 2, 2, 0 (target 2): c is two short, so it asks although the others hold exactly the fair share.
    expect(leaseToRequest(table({ a: 2, b: 2, c: 0 }), 'c', 0, first)?.owner).toBe('a');
    // 4, 3, 3 (target 4): nobody holds more than the fair share and nobody is more than one short.
    expect(leaseToRequest(table({ a: 4, b: 3, c: 3 }), 'b', 3, first)).toBeUndefined();
    // 6, 0 (target 3): ask the one holding everything.
    expect(leaseToRequest(table({ a: 6, b: 0 }), 'b', 0, first)?.owner).toBe('a');
    // The most loaded owner is dead (its heartbeat expired): wait for its leases to expire instead.
    expect(leaseToRequest(table({ a: 6, b: 0 }, { dead: ['a'] }), 'b', 0, first)).toBeUndefined();
    // At the fair share already.
    expect(leaseToRequest(table({ a: 3, b: 3 }), 'b', 3, first)).toBeUndefined();
  });

  it('hands a lease over only when the holder keeps at least as many as the asker', () => {
    expect(shouldHandOver(table({ a: 2, b: 2, c: 0 }), 'a', 2, 'c')).toBe(true);
    expect(shouldHandOver(table({ a: 2, b: 1 }), 'a', 2, 'b')).toBe(false);
    expect(shouldHandOver(table({ a: 4, b: 0 }, { dead: ['b'] }), 'a', 4, 'b')).toBe(false);
  });
});
