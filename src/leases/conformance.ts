/**
 * The conformance suite every lease store runs (in-memory and PostgreSQL): the store's conditional changes, and
 * coordinators sharing leases through it (fair share, takeover after expiry, a joining owner, an owner that loses
 * the store). Every coordinator test records when each owner starts and stops each lease's work and asserts that
 * no two owners ever worked one lease at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TollstreamError } from '../core/errors.ts';
import { LeaseCoordinator, type LeaseLossReason } from './coordinator.ts';
import type { LeaseStore, LeaseToken } from './types.ts';

/** One shared lease table; `open` may be called many times (one store per owner, as separate nodes would). */
export interface LeaseStoreFixture {
  open(): Promise<LeaseStore>;
  cleanup(): Promise<void>;
}

/** Short leases so that expiry happens within a test. */
export const TEST_LEASE_MS = 1500;
export const TEST_RENEW_MS = 300;

/** Who works on which lease, in the order things happened; `overlaps` lists every moment two owners worked one lease. */
export class WorkLog {
  private readonly working = new Map<string, string>();
  readonly overlaps: string[] = [];
  readonly events: Array<{ readonly owner: string; readonly key: string; readonly kind: 'start' | 'stop'; readonly reason?: LeaseLossReason; readonly at: number }> = [];

  start(owner: string, key: string): void {
    const other = this.working.get(key);
    if (other !== undefined && other !== owner) this.overlaps.push(`${owner} started ${key} while ${other} worked on it`);
    this.working.set(key, owner);
    this.events.push({ owner, key, kind: 'start', at: performance.now() });
  }

  stop(owner: string, key: string, reason?: LeaseLossReason): void {
    if (this.working.get(key) === owner) this.working.delete(key);
    this.events.push({ owner, key, kind: 'stop', ...(reason ? { reason } : {}), at: performance.now() });
  }

  /** Marks every lease `owner` works on as stopped (the owner's process was killed). */
  stopAll(owner: string): void {
    for (const [key, o] of [...this.working]) if (o === owner) this.stop(owner, key);
  }

  /** Owner -> the keys it works on now. */
  byOwner(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [key, owner] of this.working) out.set(owner, [...(out.get(owner) ?? []), key].sort());
    return out;
  }

  get workedKeys(): number {
    return this.working.size;
  }
}

/** A store whose every call fails with LEASES_UNAVAILABLE while `down` is set (an owner cut off from the store). */
export function cutOff(store: LeaseStore): LeaseStore & { down: boolean } {
  const wrapped = { down: false } as LeaseStore & { down: boolean };
  const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    if (wrapped.down) throw new TollstreamError('LEASES_UNAVAILABLE', 'cut off from the lease table');
    return fn(...args);
  };
  return Object.assign(wrapped, {
    description: store.description,
    ensure: guard(store.ensure),
    remove: guard(store.remove),
    read: guard(store.read),
    heartbeat: guard(store.heartbeat),
    forgetOwner: guard(store.forgetOwner),
    take: guard(store.take),
    renew: guard(store.renew),
    request: guard(store.request),
    handOver: guard(store.handOver),
    release: guard(store.release),
    close: store.close,
  });
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function keys(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `delivery:warehouse:toll_transactions:shardId-${String(i).padStart(12, '0')}`);
}

export function describeLeaseStoreConformance(name: string, createFixture: () => Promise<LeaseStoreFixture>): void {
  describe(`lease store conformance: ${name}`, () => {
    let fixture: Promise<LeaseStoreFixture> | undefined;
    const stores: LeaseStore[] = [];
    const coordinators: LeaseCoordinator[] = [];
    /** The lease each key's work was last started under, as the coordinator gave it. */
    const tokens = new Map<string, LeaseToken>();

    const open = async (): Promise<LeaseStore> => {
      fixture ??= createFixture();
      const store = await (await fixture).open();
      stores.push(store);
      return store;
    };
    const coordinator = (owner: string, store: LeaseStore, work: WorkLog, canWork?: (key: string) => boolean): LeaseCoordinator => {
      const c = new LeaseCoordinator({
        store,
        owner,
        leaseMs: TEST_LEASE_MS,
        renewMs: TEST_RENEW_MS,
        onAcquired: (key, lease) => {
          tokens.set(key, lease);
          work.start(owner, key);
        },
        onLost: (key, reason) => work.stop(owner, key, reason),
        ...(canWork ? { canWork } : {}),
      });
      coordinators.push(c);
      return c;
    };

    afterEach(async () => {
      tokens.clear();
      for (const c of coordinators.splice(0)) await c.stop();
      for (const s of stores.splice(0)) await s.close();
      await (await fixture)?.cleanup();
      fixture = undefined;
    });

    it('changes a lease only at the epoch the caller read, and lets one of two racing owners take it', async () => {
      const store = await open();
      await store.ensure(['a', 'b']);
      await store.ensure(['a']);
      const [a] = (await store.read()).leases;
      expect(a).toMatchObject({ key: 'a', owner: null, wantedBy: null });
      const races = await Promise.all([store.take('a', 'n1', a!.epoch, 60_000), store.take('a', 'n2', a!.epoch, 60_000)]);
      const winners = races.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      const won = winners[0]!;
      expect(won.epoch).not.toBe(a!.epoch);
      expect(won.expiresInMs).toBeGreaterThan(0);
      const loser = won.owner === 'n1' ? 'n2' : 'n1';
      // Held and not expired: nobody else takes it, renews it, hands it over or releases it.
      expect(await store.take('a', loser, won.epoch, 60_000)).toBeUndefined();
      expect(await store.renew('a', loser, won.epoch, 60_000)).toBeUndefined();
      expect(await store.renew('a', won.owner!, a!.epoch, 60_000)).toBeUndefined();
      expect(await store.handOver('a', loser, won.epoch, loser, 60_000)).toBe(false);
      expect(await store.release('a', loser, won.epoch)).toBe(false);
      expect(await store.renew('a', won.owner!, won.epoch, 60_000)).toMatchObject({ owner: won.owner, epoch: won.epoch });
      // A request marks it; the hand-over moves it to the wanter with a new epoch.
      expect(await store.request('a', loser, won.epoch)).toBe(true);
      expect((await store.read()).leases.find((l) => l.key === 'a')?.wantedBy).toBe(loser);
      expect(await store.handOver('a', won.owner!, won.epoch, loser, 60_000)).toBe(true);
      const handed = (await store.read()).leases.find((l) => l.key === 'a')!;
      expect(handed).toMatchObject({ owner: loser, wantedBy: null });
      expect(handed.epoch).not.toBe(won.epoch);
      // Released: free at once, at a new epoch.
      expect(await store.release('a', loser, handed.epoch)).toBe(true);
      const released = (await store.read()).leases.find((l) => l.key === 'a')!;
      expect(released.owner).toBeNull();
      expect(await store.take('a', won.owner!, released.epoch, 60_000)).toMatchObject({ owner: won.owner });
      await store.remove(['a', 'b']);
      expect((await store.read()).leases).toEqual([]);
    });

    it('lets another owner take a lease once it expired, and counts only live owners', async () => {
      const store = await open();
      await store.ensure(['x']);
      const free = (await store.read()).leases[0]!;
      const short = await store.take('x', 'n1', free.epoch, 150);
      expect(short).toBeDefined();
      expect(await store.take('x', 'n2', short!.epoch, 60_000)).toBeUndefined();
      await store.heartbeat('n1', 150);
      await store.heartbeat('n2', 60_000);
      expect((await store.read()).liveOwners).toEqual(['n1', 'n2']);
      await until('the lease and the heartbeat to expire', async () => {
        const table = await store.read();
        return table.leases[0]!.expiresInMs <= 0 && !table.liveOwners.includes('n1');
      });
      expect(await store.take('x', 'n2', short!.epoch, 60_000)).toMatchObject({ owner: 'n2' });
      await store.forgetOwner('n2');
      expect((await store.read()).liveOwners).toEqual([]);
    });

    it('shares leases fairly among three owners, and a joining owner takes its share by hand-over', async () => {
      const work = new WorkLog();
      const ten = keys(10);
      const owners = ['node-a', 'node-b', 'node-c'];
      const started = await Promise.all(owners.map(async (o) => coordinator(o, await open(), work)));
      await started[0]!.ensure(ten);
      await Promise.all(started.map((c) => c.start()));
      await until('every lease worked on, 3 or 4 each', () => {
        const counts = [...work.byOwner().values()].map((k) => k.length).sort();
        return work.workedKeys === 10 && counts.join() === '3,3,4';
      });
      const joiner = coordinator('node-d', await open(), work);
      await joiner.start();
      // 10 leases, 4 owners: fair share 3; nobody may end with fewer than 2.
      await until('the joining owner to reach a fair share', () => {
        const counts = owners.concat('node-d').map((o) => work.byOwner().get(o)?.length ?? 0);
        return work.workedKeys === 10 && Math.min(...counts) >= 2 && Math.max(...counts) <= 3;
      });
      expect(work.events.filter((e) => e.kind === 'stop').every((e) => e.reason === 'handed-over')).toBe(true);
      expect(work.overlaps).toEqual([]);
      // Each lease's work was started under the lease as the store holds it now: its owner, at its epoch.
      const table = await (await open()).read();
      for (const lease of table.leases) expect(tokens.get(lease.key)).toEqual({ key: lease.key, owner: lease.owner, epoch: lease.epoch });
    });

    it('takes, asks for and is handed only leases whose work the owner has', async () => {
      // node-a runs two consumers (as a node with the alerts on); node-b only the first, so it must never hold the second's.
      const work = new WorkLog();
      const warehouse = keys(2);
      const breaches = Array.from({ length: 4 }, (_, i) => `delivery:breaches:spend_alerts:shardId-00000000000${i}`);
      const a = coordinator('node-a', await open(), work);
      await a.ensure([...warehouse, ...breaches]);
      await a.start();
      await until('node-a alone to work every lease', () => work.byOwner().get('node-a')?.length === 6);
      const b = coordinator('node-b', await open(), work, (key) => warehouse.includes(key));
      await b.start();
      await until('node-b to work its share of what it can work', () => (work.byOwner().get('node-b')?.length ?? 0) >= 1);
      // A few more rounds: node-b stays with what it can work.
      for (let i = 0; i < 4; i++) await b.refresh();
      expect(work.byOwner().get('node-b')!.every((k) => warehouse.includes(k))).toBe(true);
      expect(work.byOwner().get('node-a')).toEqual(expect.arrayContaining(breaches));
      expect(work.workedKeys).toBe(6);
      expect(work.overlaps).toEqual([]);
    });

    it('leaves no lease of a dead owner free while the owners that can work it are at their fair share', async () => {
      // node-a runs the warehouse delivery and two queries; node-b and node-c only the delivery (their queries are off).
      const work = new WorkLog();
      const warehouse = keys(4);
      const queries = ['query:spend', 'query:stations'];
      const a = coordinator('node-a', await open(), work);
      await a.ensure([...warehouse, ...queries]);
      await a.start();
      await until('node-a alone to work every lease', () => work.byOwner().get('node-a')?.length === 6);
      const cut = cutOff(await open());
      const onlyWarehouse = (key: string) => warehouse.includes(key);
      const others = [coordinator('node-b', await open(), work, onlyWarehouse), coordinator('node-c', cut, work, onlyWarehouse)];
      await Promise.all(others.map((c) => c.start()));
      await until('node-b and node-c to work some each, node-a at most one of the delivery', () =>
        (work.byOwner().get('node-b')?.length ?? 0) >= 1 && (work.byOwner().get('node-c')?.length ?? 0) >= 1 && work.byOwner().get('node-a')!.length <= 3);
      // node-c dies: node-b takes up to its share of the delivery (4 leases, 2 live owners: 2), node-a up to its share
      // of everything (6 leases, 2 owners: 3, two of them the queries); what is left of node-c's must not stay free.
      cut.down = true;
      await until('every lease worked by node-a or node-b', () => work.workedKeys === 6 && !work.byOwner().has('node-c'), 20_000);
      expect(work.byOwner().get('node-a')).toEqual(expect.arrayContaining(queries));
      expect(work.overlaps).toEqual([]);
    });

    it('takes over the leases of an owner that stops renewing, after it stopped their work', async () => {
      const work = new WorkLog();
      const six = keys(6);
      const cut = cutOff(await open());
      const victim = coordinator('node-a', cut, work);
      await victim.ensure(six);
      await victim.start();
      await until('node-a to hold all six', () => work.byOwner().get('node-a')?.length === 6);
      const others = [coordinator('node-b', await open(), work), coordinator('node-c', await open(), work)];
      await Promise.all(others.map((c) => c.start()));
      await until('a fair share each', () => [...work.byOwner().values()].every((k) => k.length === 2) && work.byOwner().size === 3);
      const before = work.byOwner().get('node-a')!;
      cut.down = true;
      const cutAt = performance.now();
      await until('the others to work on every lease', () => work.workedKeys === 6 && !work.byOwner().has('node-a'));
      const takenAt = Math.max(...work.events.filter((e) => e.kind === 'start' && before.includes(e.key) && e.owner !== 'node-a').map((e) => e.at));
      console.log(`lease takeover (${name}): node-a cut off from the store -> its ${before.length} leases worked on elsewhere in ${Math.round(takenAt - cutAt)} ms (lease ${TEST_LEASE_MS} ms)`);
      // node-a stopped each of its leases because it could not renew them, before anyone else started them.
      expect(work.events.filter((e) => e.owner === 'node-a' && e.kind === 'stop').map((e) => [e.key, e.reason])).toEqual(expect.arrayContaining(before.map((k) => [k, 'expiring'])));
      expect(work.overlaps).toEqual([]);
      expect(victim.status().held).toEqual([]);
      expect(victim.status().storeReachable).toBe(false);
    });

    it('takes its leases back, alone, once it reaches the store again after they expired in its name', async () => {
      const work = new WorkLog();
      const cut = cutOff(await open());
      const alone = coordinator('node-a', cut, work);
      await alone.ensure(keys(2));
      await alone.start();
      await until('node-a to work on both', () => work.byOwner().get('node-a')?.length === 2);
      cut.down = true;
      await until('node-a to stop both', () => work.workedKeys === 0);
      await until('the leases to expire in its name', async () => {
        cut.down = false;
        const table = await cut.read().finally(() => (cut.down = true));
        return table.leases.every((l) => l.owner === 'node-a' && l.expiresInMs <= 0);
      });
      cut.down = false;
      await until('node-a to work on both again', () => work.byOwner().get('node-a')?.length === 2);
      expect(work.overlaps).toEqual([]);
    });

    it('releases its leases on stop, so the others take them without waiting for expiry', async () => {
      const work = new WorkLog();
      const a = coordinator('node-a', await open(), work);
      const b = coordinator('node-b', await open(), work);
      await a.ensure(keys(4));
      await a.start();
      await b.start();
      await until('two each', () => work.byOwner().get('node-a')?.length === 2 && work.byOwner().get('node-b')?.length === 2);
      await a.stop();
      expect(work.events.filter((e) => e.owner === 'node-a' && e.reason === 'stopping')).toHaveLength(2);
      await until('node-b to work on all four', () => work.byOwner().get('node-b')?.length === 4);
      // Released leases carry no expiry to wait for: the takes come from node-b's next rounds.
      const takes = work.events.filter((e) => e.owner === 'node-b' && e.kind === 'start').slice(2);
      expect(takes.map((e) => e.key).sort()).toEqual(work.events.filter((e) => e.owner === 'node-a' && e.reason === 'stopping').map((e) => e.key).sort());
      expect(work.overlaps).toEqual([]);
    });
  });
}
