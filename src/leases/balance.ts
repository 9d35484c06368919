/**
 * The fair-share rules, as pure functions of one reading of the lease table (in the manner of the Kinesis
 * Client Library's lease taker): take unowned or expired leases up to the fair share; when none is free, ask the
 * most loaded live owner for one lease per round; hand a lease over only when that moves toward balance.
 */
import type { Lease, LeaseTable } from './types.ts';

/** The fair share: ceil(leases / live owners), counting `self` as live. */
export function fairShare(table: LeaseTable, self: string): number {
  const owners = new Set(table.liveOwners).add(self).size;
  return Math.ceil(table.leases.length / owners);
}

/** Leases held and not expired, per owner. */
export function loadByOwner(table: LeaseTable): Map<string, number> {
  const load = new Map<string, number>();
  for (const lease of table.leases) if (lease.owner !== null && lease.expiresInMs > 0) load.set(lease.owner, (load.get(lease.owner) ?? 0) + 1);
  return load;
}

/** Leases anyone may take now: never owned, released, or expired (also one that expired in the asking owner's name). */
export function takeable(table: LeaseTable): Lease[] {
  return table.leases.filter((l) => l.owner === null || l.expiresInMs <= 0);
}

/**
 * The lease to ask another owner for, when `self` holds `held` leases, none is free, and it is below its fair
 * share: one of the most loaded live owner's, if that owner holds more than the fair share, or exactly the fair
 * share while `self` is more than one short (so 2, 2, 0 becomes 1, 2, 1, and a joining owner never waits on a
 * balance that cannot get fairer). Undefined when nothing should move.
 */
export function leaseToRequest(table: LeaseTable, self: string, held: number, random: () => number): Lease | undefined {
  const target = fairShare(table, self);
  if (held >= target) return undefined;
  const live = new Set(table.liveOwners);
  let victim: string | undefined;
  let most = 0;
  for (const [owner, count] of loadByOwner(table)) {
    if (owner === self || !live.has(owner)) continue;
    if (count > most || (count === most && victim !== undefined && owner < victim)) [victim, most] = [owner, count];
  }
  if (victim === undefined || !(most > target || (most === target && target - held > 1))) return undefined;
  const candidates = table.leases.filter((l) => l.owner === victim && l.expiresInMs > 0);
  return candidates[Math.floor(random() * candidates.length)];
}

/** Whether `self`, holding `held` leases, should give one to `wanter`: only when it leaves `self` no poorer than the wanter. */
export function shouldHandOver(table: LeaseTable, self: string, held: number, wanter: string): boolean {
  if (wanter === self || !table.liveOwners.includes(wanter)) return false;
  return held > (loadByOwner(table).get(wanter) ?? 0) + 1;
}

/** `items` in random order (Fisher-Yates): owners racing for the same free leases mostly pick different ones. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
