/**
 * The lease table in memory: the default for one node, where every owner lives in this process (the node's
 * threads, later). The same rules as the PostgreSQL store, on one clock.
 */
import type { Lease, LeaseStore, LeaseTable } from './types.ts';

interface Row {
  owner: string | null;
  epoch: number;
  expiresAt: number;
  wantedBy: string | null;
}

export function memoryLeaseStore(options: { now?: () => number } = {}): LeaseStore {
  const now = options.now ?? (() => performance.now());
  const rows = new Map<string, Row>();
  const owners = new Map<string, number>();
  const view = (key: string, row: Row): Lease => ({ key, owner: row.owner, epoch: row.epoch, expiresInMs: row.expiresAt - now(), wantedBy: row.wantedBy });
  const at = (key: string, epoch: number): Row | undefined => {
    const row = rows.get(key);
    return row && row.epoch === epoch ? row : undefined;
  };
  return {
    description: 'memory',
    async ensure(keys) {
      for (const key of keys) if (!rows.has(key)) rows.set(key, { owner: null, epoch: 0, expiresAt: -Infinity, wantedBy: null });
    },
    async remove(keys) {
      for (const key of keys) rows.delete(key);
    },
    async read(): Promise<LeaseTable> {
      const t = now();
      return {
        leases: [...rows].map(([key, row]) => view(key, row)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
        liveOwners: [...owners].filter(([, until]) => until > t).map(([o]) => o).sort(),
      };
    },
    async heartbeat(owner, ttlMs) {
      owners.set(owner, now() + ttlMs);
    },
    async forgetOwner(owner) {
      owners.delete(owner);
    },
    async take(key, owner, epoch, ttlMs) {
      const row = at(key, epoch);
      if (!row || (row.owner !== null && row.expiresAt > now())) return undefined;
      Object.assign(row, { owner, epoch: epoch + 1, expiresAt: now() + ttlMs, wantedBy: null });
      return view(key, row);
    },
    async renew(key, owner, epoch, ttlMs) {
      const row = at(key, epoch);
      if (!row || row.owner !== owner) return undefined;
      row.expiresAt = now() + ttlMs;
      return view(key, row);
    },
    async request(key, wanter, epoch) {
      const row = at(key, epoch);
      if (!row || row.owner === null || row.owner === wanter) return false;
      row.wantedBy = wanter;
      return true;
    },
    async handOver(key, owner, epoch, to, ttlMs) {
      const row = at(key, epoch);
      if (!row || row.owner !== owner) return false;
      Object.assign(row, { owner: to, epoch: epoch + 1, expiresAt: now() + ttlMs, wantedBy: null });
      return true;
    },
    async release(key, owner, epoch) {
      const row = at(key, epoch);
      if (!row || row.owner !== owner) return false;
      Object.assign(row, { owner: null, epoch: epoch + 1, expiresAt: now(), wantedBy: null });
      return true;
    },
    async close() {},
  };
}
