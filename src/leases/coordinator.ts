/**
 * A `LeaseCoordinator` acts for one owner (a node; the owner is just a name): every `renewMs` it heartbeats,
 * renews what it holds, hands over what a poorer owner asked for, and takes its fair share. A lease it has not
 * renewed by `leaseMs - renewMs` after the last renewal it sent is dropped: the user is told to stop that work
 * before the store lets anyone else take it, so two owners never work one lease past its expiry.
 */
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { fairShare, leaseToRequest, shouldHandOver, shuffled, takeable } from './balance.ts';
import type { Lease, LeaseStore, LeaseTable, LeaseToken } from './types.ts';

/** Why the work of a lease must stop. */
export type LeaseLossReason =
  /** Not renewed in time (the store is unreachable or slow): stopped before the lease can expire. */
  | 'expiring'
  /** Someone else holds it now (the renewal found another epoch). */
  | 'taken'
  /** Given to an owner below its fair share. */
  | 'handed-over'
  /** The coordinator stops (the node shuts down); the lease is released for others. */
  | 'stopping';

export interface LeaseCoordinatorOptions {
  readonly store: LeaseStore;
  /** This owner's name, unique among the owners sharing the store (a node name). */
  readonly owner: string;
  /** How long a lease lasts after a renewal, in ms. */
  readonly leaseMs: number;
  /** Time between rounds (heartbeat, renew, balance), in ms; at most a third of `leaseMs`. */
  readonly renewMs: number;
  /**
   * Start the work of `key` (resuming from its checkpoint). A throw releases the lease. `lease` is the lease as
   * taken: commits of the work may check in their transaction that it has not moved since (`fenceCommits`).
   */
  onAcquired(key: string, lease: LeaseToken): void | Promise<void>;
  /** Stop the work of `key`; resolve once it has stopped. Must not take longer than `renewMs`. */
  onLost(key: string, reason: LeaseLossReason): void | Promise<void>;
  /**
   * Whether this owner has the work of `key`: it takes, asks for and counts its fair share over only those (a node
   * with the alerts off has no breach delivery, a node may lack a function another runs). @default every key
   */
  canWork?(key: string): boolean;
  readonly logger?: Logger;
  /** A monotonic clock in ms. @default performance.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
}

interface Held {
  epoch: number;
  /** When the work must have stopped, on this process's monotonic clock. */
  deadline: number;
  timer: NodeJS.Timeout | undefined;
}

export interface LeaseCoordinatorStatus {
  readonly owner: string;
  /** Keys of the leases held now, sorted. */
  readonly held: readonly string[];
  /** Whether the last round reached the store. */
  readonly storeReachable: boolean;
  /** The fair share at the last round that read the table; null before. */
  readonly fairShare: number | null;
  /** Every lease at the last round that read the table, by key: its owner, or null while free or expired. */
  readonly owners: Readonly<Record<string, string | null>>;
}

export class LeaseCoordinator {
  readonly owner: string;
  private readonly store: LeaseStore;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly held = new Map<string, Held>();
  private running = false;
  private roundTimer: NodeJS.Timeout | undefined;
  private rounds: Promise<void> = Promise.resolve();
  private storeReachable = false;
  private lastFairShare: number | null = null;
  /** The keys that were free (takeable) at the last round: one still free now is an orphan (see `balance`). */
  private freeLastRound = new Set<string>();
  private lastOwners: Record<string, string | null> = {};

  constructor(private readonly options: LeaseCoordinatorOptions) {
    if (!(Number.isInteger(options.leaseMs) && options.leaseMs > 0 && Number.isInteger(options.renewMs) && options.renewMs > 0 && options.renewMs * 3 <= options.leaseMs)) {
      throw new TollstreamError('INVALID_ARGUMENT', `renewMs (${options.renewMs}) must be a positive integer at most a third of leaseMs (${options.leaseMs})`, {
        context: { leaseMs: options.leaseMs, renewMs: options.renewMs },
      });
    }
    this.owner = options.owner;
    this.store = options.store;
    this.leaseMs = options.leaseMs;
    this.renewMs = options.renewMs;
    this.logger = (options.logger ?? silentLogger).child({ component: 'leases', owner: options.owner });
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
  }

  /** Runs the first round and schedules the next ones. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.runRound();
  }

  /** Stops the rounds, stops the work of every lease held (awaiting `onLost`), releases them and forgets this owner. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.roundTimer);
    await this.rounds;
    const leases = [...this.held];
    await Promise.all(leases.map(([key]) => this.drop(key, 'stopping')));
    // At once, not one after another: with the store unreachable each release waits for its timeout.
    await Promise.all(leases.map(([key, held]) => this.store.release(key, this.owner, held.epoch).catch((err: unknown) => this.logger.warn('releasing a lease failed; it expires on its own', { key, err }))));
    await this.store.forgetOwner(this.owner).catch((err: unknown) => this.logger.warn('forgetting this owner failed; its heartbeat expires on its own', { err }));
  }

  /** Creates the leases of work that exists (idempotent): new ones are unowned until some owner takes them. */
  ensure(keys: readonly string[]): Promise<void> {
    return this.store.ensure(keys);
  }

  /** The keys held now. */
  heldKeys(): string[] {
    return [...this.held.keys()].sort();
  }

  status(): LeaseCoordinatorStatus {
    // The table as last read, with what this owner took, handed over or dropped since.
    const owners = { ...this.lastOwners };
    for (const key in owners) if (owners[key] === this.owner && !this.held.has(key)) owners[key] = null;
    for (const key of this.held.keys()) owners[key] = this.owner;
    return { owner: this.owner, held: this.heldKeys(), storeReachable: this.storeReachable, fairShare: this.lastFairShare, owners };
  }

  /** Runs a round now (after the one running, if any), e.g. once new leases were created. */
  refresh(): Promise<void> {
    return this.running ? this.runRound() : Promise.resolve();
  }

  /** Queues a round behind the previous one (rounds never overlap); the last one queued schedules the next. */
  private runRound(): Promise<void> {
    clearTimeout(this.roundTimer);
    const round: Promise<void> = this.rounds
      .then(() => (this.running ? this.round() : undefined))
      .catch((err: unknown) => this.logger.error('a lease round failed', { err }))
      .finally(() => {
        if (this.running && this.rounds === round) {
          clearTimeout(this.roundTimer);
          this.roundTimer = setTimeout(() => void this.runRound(), this.renewMs);
        }
      });
    this.rounds = round;
    return round;
  }

  private async round(): Promise<void> {
    let reachable = true;
    const unreachable = (what: string) => (err: unknown) => {
      if (!isTollstreamError(err, 'LEASES_UNAVAILABLE')) throw err;
      if (this.storeReachable && reachable) this.logger.warn(`cannot reach the lease table (${what}); leases not renewed in time are dropped`, { err });
      reachable = false;
    };
    await this.store.heartbeat(this.owner, this.leaseMs).catch(unreachable('heartbeat'));
    await Promise.all([...this.held].map(([key, held]) => this.renew(key, held).catch(unreachable('renew'))));
    const table = await this.store.read().catch(unreachable('read'));
    if (table && this.running) await this.balance(table).catch(unreachable('balance'));
    if (reachable && !this.storeReachable) this.logger.info('the lease table is reachable', { store: this.store.description });
    this.storeReachable = reachable;
  }

  private async renew(key: string, held: Held): Promise<void> {
    const sentAt = this.now();
    const lease = await this.store.renew(key, this.owner, held.epoch, this.leaseMs);
    if (this.held.get(key) !== held) return; // dropped meanwhile (its deadline passed)
    if (!lease) {
      this.logger.warn('a lease was taken by another owner', { key });
      await this.drop(key, 'taken');
      return;
    }
    this.schedule(key, held, sentAt);
  }

  private async balance(all: LeaseTable): Promise<void> {
    this.lastOwners = Object.fromEntries(all.leases.map((l) => [l.key, l.expiresInMs > 0 ? l.owner : null]));
    // Only the leases whose work this owner has count for it: it takes, asks for and shares out those.
    const canWork = this.options.canWork;
    const table = canWork ? { ...all, leases: all.leases.filter((l) => canWork(l.key)) } : all;
    const target = fairShare(table, this.owner);
    this.lastFairShare = target;
    // Leases the store says are ours but we do not hold: handed over to us, or kept after a late renewal.
    for (const lease of table.leases) {
      if (lease.owner === this.owner && !this.held.has(lease.key) && lease.expiresInMs > 0) {
        const sentAt = this.now();
        const renewed = await this.store.renew(lease.key, this.owner, lease.epoch, this.leaseMs);
        if (renewed) await this.acquire(renewed, sentAt);
      }
    }
    // At most one hand-over per round, and only toward balance.
    for (const lease of table.leases) {
      const held = this.held.get(lease.key);
      if (!held || lease.wantedBy === null || lease.epoch !== held.epoch || !shouldHandOver(table, this.owner, this.held.size, lease.wantedBy)) continue;
      await this.drop(lease.key, 'handed-over');
      const done = await this.store.handOver(lease.key, this.owner, held.epoch, lease.wantedBy, this.leaseMs);
      this.logger.info(done ? 'handed a lease over' : 'a lease changed before it could be handed over', { key: lease.key, to: lease.wantedBy });
      break;
    }
    const free = takeable(table).filter((l) => !this.held.has(l.key));
    const freeBefore = this.freeLastRound;
    this.freeLastRound = new Set(free.map((l) => l.key));
    if (this.held.size >= target) {
      // The fair share counts every live owner, also those that cannot work a given lease (a node with the queries or
      // the alerts off). So a lease can stay free while each owner that can work it is at its share: a lease free for
      // a whole round is taken beyond the share, one per round; owners below their share had that round to take it,
      // and the balance moves it on later if it should.
      const orphan = shuffled(free.filter((l) => freeBefore.has(l.key)), this.random)[0];
      if (orphan && this.running) await this.take(orphan, 'took a lease no owner below its fair share took', { fairShare: target });
      return;
    }
    let took = false;
    for (const lease of shuffled(free, this.random)) {
      if (this.held.size >= target || !this.running) break;
      if (await this.take(lease, lease.owner === null ? 'took a free lease' : 'took an expired lease')) took = true;
    }
    if (took) return;
    const wanted = leaseToRequest(table, this.owner, this.held.size, this.random);
    if (wanted && (await this.store.request(wanted.key, this.owner, wanted.epoch))) {
      this.logger.info('asked for a lease to reach the fair share', { key: wanted.key, from: wanted.owner, fairShare: target });
    }
  }

  /** Takes a free or expired lease at the epoch read and starts its work; false when another owner changed it first. */
  private async take(lease: Lease, message: string, fields: Record<string, unknown> = {}): Promise<boolean> {
    const sentAt = this.now();
    const taken = await this.store.take(lease.key, this.owner, lease.epoch, this.leaseMs);
    if (!taken) return false;
    this.logger.info(message, { key: lease.key, from: lease.owner, epoch: taken.epoch, ...fields });
    await this.acquire(taken, sentAt);
    return true;
  }

  private async acquire(lease: Lease, sentAt: number): Promise<void> {
    const held: Held = { epoch: lease.epoch, deadline: 0, timer: undefined };
    this.held.set(lease.key, held);
    this.schedule(lease.key, held, sentAt);
    try {
      await this.options.onAcquired(lease.key, { key: lease.key, owner: this.owner, epoch: lease.epoch });
    } catch (err) {
      this.logger.error('starting the work of a lease failed; releasing it', { key: lease.key, err });
      if (this.held.get(lease.key) === held) {
        this.held.delete(lease.key);
        clearTimeout(held.timer);
        await this.store.release(lease.key, this.owner, held.epoch).catch(() => undefined);
      }
    }
  }

  /** The work must stop by `leaseMs - renewMs` after the renewal sent at `sentAt`: the store's expiry is later still. */
  private schedule(key: string, held: Held, sentAt: number): void {
    held.deadline = sentAt + this.leaseMs - this.renewMs;
    clearTimeout(held.timer);
    held.timer = setTimeout(() => {
      if (this.held.get(key) !== held) return;
      this.logger.warn('a lease was not renewed in time; stopping its work before it expires', { key });
      void this.drop(key, 'expiring');
    }, Math.max(0, held.deadline - this.now()));
  }

  private async drop(key: string, reason: LeaseLossReason): Promise<void> {
    const held = this.held.get(key);
    if (!held) return;
    this.held.delete(key);
    clearTimeout(held.timer);
    try {
      await this.options.onLost(key, reason);
    } catch (err) {
      this.logger.error('stopping the work of a lease failed', { key, reason, err });
    }
  }
}
