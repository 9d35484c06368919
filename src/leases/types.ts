/**
 * The contract of the lease table: who owns which unit of work (one consumer on one shard), until when.
 * Stores (in-memory for one node, PostgreSQL for a cluster) implement it and run the suite in
 * `conformance.ts`; the `LeaseCoordinator` is their only user.
 */

/** One row of the lease table, as the store sees it at the moment it answers. */
export interface Lease {
  /** The unit of work, e.g. `delivery:warehouse:toll_transactions:shardId-000000000001`. */
  readonly key: string;
  /** Null while nobody holds the lease (new, released, or handed back). */
  readonly owner: string | null;
  /** Changes on every change of owner (take, hand-over, release): a change made on a stale epoch fails. */
  readonly epoch: number;
  /**
   * Milliseconds until the lease expires, measured on the store's clock when it answered (0 or less: expired).
   * Only this difference leaves the store, so the owners' clocks never need to agree.
   */
  readonly expiresInMs: number;
  /** An owner below its fair share asked the holder to hand this lease over; null otherwise. */
  readonly wantedBy: string | null;
}

/**
 * A lease as its holder took it: `owner` holds `key` while the lease is still at `epoch`. Work done under the lease
 * carries it, so that a commit can be refused once the lease moved (`fenceCommits`).
 */
export interface LeaseToken {
  readonly key: string;
  readonly owner: string;
  readonly epoch: number;
}

export interface LeaseTable {
  readonly leases: readonly Lease[];
  /** Owners whose heartbeat has not expired, sorted. */
  readonly liveOwners: readonly string[];
}

export interface LeaseStore {
  /** For logs: `memory`, `postgres:<schema>`. */
  readonly description: string;
  /** Creates the leases that do not exist yet, unowned. Existing leases are left as they are. */
  ensure(keys: readonly string[]): Promise<void>;
  /** Removes leases (work that no longer exists), whoever holds them. */
  remove(keys: readonly string[]): Promise<void>;
  /** Every lease and the live owners. */
  read(): Promise<LeaseTable>;
  /** Marks `owner` live for `ttlMs`. */
  heartbeat(owner: string, ttlMs: number): Promise<void>;
  /** Forgets `owner`'s heartbeat (a clean stop), so the others' fair share grows at once. */
  forgetOwner(owner: string): Promise<void>;
  /**
   * Takes the lease if it is still at `epoch` and unowned or expired: the owner becomes `owner`, the epoch
   * moves on, it expires in `ttlMs`. Undefined when someone else changed it first.
   */
  take(key: string, owner: string, epoch: number, ttlMs: number): Promise<Lease | undefined>;
  /** Extends the lease by `ttlMs` from now if `owner` still holds it at `epoch`; undefined otherwise. */
  renew(key: string, owner: string, epoch: number, ttlMs: number): Promise<Lease | undefined>;
  /** Asks the holder of the lease (at `epoch`, owned by another) to hand it to `wanter`. False if it changed. */
  request(key: string, wanter: string, epoch: number): Promise<boolean>;
  /** `owner` gives the lease at `epoch` to `to` (epoch moves on, expires in `ttlMs`). False if it changed. */
  handOver(key: string, owner: string, epoch: number, to: string, ttlMs: number): Promise<boolean>;
  /** `owner` gives the lease at `epoch` up: unowned and expired at once (epoch moves on). False if it changed. */
  release(key: string, owner: string, epoch: number): Promise<boolean>;
  close(): Promise<void>;
}
