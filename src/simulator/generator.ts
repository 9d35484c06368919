/**
 * Deterministic toll traffic. Event time runs on a simulated clock: gaps between transactions are drawn
 * from the target rate shaped by a daily profile (morning and evening peaks), and a share of records is
 * sent out of order, late, or twice (a producer's retry), as real roadside equipment does.
 */
import { buildWorld, pickIndex, tollCents, type World } from './model.ts';
export { populationFor } from './model.ts';
import { Random } from '../core/random.ts';
import type { TollTransaction } from './toll-transactions.ts';

/** A traffic drop planted at one plaza: between `from` and `to` (event time, ms) only `factor` of its traffic passes. */
export interface PlantedDrop {
  readonly plazaId: string;
  readonly from: number;
  readonly to: number;
  /** 0 is a total outage. */
  readonly factor: number;
}

/** Extra spend planted for one customer at a known event time, e.g. to push them past a threshold. */
export interface PlantedSpend {
  readonly customerId: string;
  readonly at: number;
  readonly amountCents: number;
}

export interface TrafficOptions {
  /** @default 1 */
  readonly seed?: number;
  /** @default 10000 */
  readonly customers?: number;
  /** @default 20 */
  readonly plazas?: number;
  /** Event time of the first transaction, ms since the epoch. @default now */
  readonly startTime?: number;
  /** Average transactions per second of event time over a day. @default 100 */
  readonly eventsPerSecond?: number;
  /** Shape traffic with daily peaks (false: a flat rate). @default true */
  readonly dailyProfile?: boolean;
  /** Share of records whose event time is up to `outOfOrderMaxMs` earlier than the clock. @default 0.02 */
  readonly outOfOrderShare?: number;
  /** @default 20000 */
  readonly outOfOrderMaxMs?: number;
  /** Share of records that arrive late: 5 to 60 minutes after their event time. @default 0.001 */
  readonly lateShare?: number;
  /** Share of records sent a second time shortly after (a producer retry, same transaction_id). @default 0.005 */
  readonly duplicateShare?: number;
  readonly drops?: readonly PlantedDrop[];
  readonly plantedSpends?: readonly PlantedSpend[];
  /** @default 'USD' */
  readonly currency?: string;
}

export interface GeneratedRecord {
  readonly transaction: TollTransaction;
  /** True for the second sending of a transaction already generated (a retry). */
  readonly duplicate: boolean;
  /** The simulated clock when the record is sent (ms); `event_time` may be earlier for out-of-order and late ones. */
  readonly sentAt: number;
}

/** Relative traffic per hour of day (UTC), averaging 1 over the day. */
const HOURLY_PROFILE = normalize([
  0.25, 0.18, 0.15, 0.15, 0.25, 0.6, 1.3, 1.9, 2.0, 1.4, 1.1, 1.1, 1.15, 1.1, 1.15, 1.4, 1.8, 2.0, 1.6, 1.1, 0.8, 0.6,
  0.45, 0.35,
]);

export class TrafficGenerator implements Iterable<GeneratedRecord> {
  readonly world: World;
  private readonly random: Random;
  private readonly options: Required<Omit<TrafficOptions, 'drops' | 'plantedSpends'>>;
  private readonly drops: readonly PlantedDrop[];
  private readonly planted: PlantedSpend[];
  private clock: number;
  private counter = 0;
  /** Retries waiting to be sent again: [due time, transaction]. */
  private readonly retries: Array<[number, TollTransaction]> = [];

  constructor(options: TrafficOptions = {}) {
    this.options = {
      seed: options.seed ?? 1,
      customers: options.customers ?? 10_000,
      plazas: options.plazas ?? 20,
      startTime: options.startTime ?? Date.now(),
      eventsPerSecond: options.eventsPerSecond ?? 100,
      dailyProfile: options.dailyProfile ?? true,
      outOfOrderShare: options.outOfOrderShare ?? 0.02,
      outOfOrderMaxMs: options.outOfOrderMaxMs ?? 20_000,
      lateShare: options.lateShare ?? 0.001,
      duplicateShare: options.duplicateShare ?? 0.005,
      currency: options.currency ?? 'USD',
    };
    if (this.options.customers < 1 || this.options.plazas < 1) throw new RangeError('customers and plazas must be at least 1');
    if (!(this.options.eventsPerSecond > 0)) throw new RangeError('eventsPerSecond must be positive');
    this.random = new Random(this.options.seed);
    this.world = buildWorld({ customers: this.options.customers, plazas: this.options.plazas, seed: this.options.seed });
    this.drops = options.drops ?? [];
    this.planted = [...(options.plantedSpends ?? [])].sort((a, b) => a.at - b.at);
    this.clock = this.options.startTime;
  }

  /** The simulated clock: event time of the newest on-time record. */
  get now(): number {
    return this.clock;
  }

  [Symbol.iterator](): Iterator<GeneratedRecord> {
    return { next: () => ({ done: false, value: this.next() }) };
  }

  /** Generates records until the simulated clock passes `until` (ms). */
  *until(until: number): Generator<GeneratedRecord> {
    while (this.clock < until) yield this.next();
  }

  /** The next record to send. */
  next(): GeneratedRecord {
    const retry = this.retries[0];
    if (retry && retry[0] <= this.clock) {
      this.retries.shift();
      return { transaction: retry[1], duplicate: true, sentAt: this.clock };
    }
    const plant = this.planted[0];
    if (plant && plant.at <= this.clock) {
      this.planted.shift();
      return { transaction: this.plantedTransaction(plant), duplicate: false, sentAt: this.clock };
    }
    for (;;) {
      this.advanceClock();
      const customer = this.world.pickCustomer(this.random);
      const plazaIndex = this.random.chance(customer.homePlazaShare) ? customer.homePlaza : pickIndex(this.world.plazaCdf, this.random.next());
      const plaza = this.world.plazas[plazaIndex]!;
      let eventTime = this.clock;
      const u = this.random.next();
      if (u < this.options.lateShare) eventTime -= 5 * 60_000 + Math.floor(this.random.next() * 55 * 60_000);
      else if (u < this.options.lateShare + this.options.outOfOrderShare) eventTime -= Math.floor(this.random.next() * this.options.outOfOrderMaxMs);
      // A drop is about when vehicles pass the plaza, so it applies to event time, not to when records are sent.
      const drop = this.dropAt(plaza.id, eventTime);
      if (drop && !this.random.chance(drop.factor)) continue;
      const vehicle = customer.vehicles.length === 1 ? customer.vehicles[0]! : this.random.pick(customer.vehicles);
      const transaction: TollTransaction = {
        transaction_id: this.transactionId(),
        customer_id: customer.id,
        tag_id: vehicle.tagId,
        plate: vehicle.plate,
        plaza_id: plaza.id,
        lane: 1 + Math.floor(this.random.next() * plaza.lanes),
        vehicle_class: vehicle.vehicleClass,
        amount_cents: tollCents(plaza, vehicle.vehicleClass),
        currency: this.options.currency,
        event_time: new Date(eventTime).toISOString(),
      };
      if (this.random.chance(this.options.duplicateShare)) {
        this.retries.push([this.clock + 200 + Math.floor(this.random.next() * 5000), transaction]);
        this.retries.sort((a, b) => a[0] - b[0]);
      }
      return { transaction, duplicate: false, sentAt: this.clock };
    }
  }

  private advanceClock(): void {
    const hour = new Date(this.clock).getUTCHours();
    const rate = this.options.eventsPerSecond * (this.options.dailyProfile ? HOURLY_PROFILE[hour]! : 1);
    this.clock += this.random.exponential(1000 / rate);
  }

  private dropAt(plazaId: string, t: number): PlantedDrop | undefined {
    for (const d of this.drops) if (d.plazaId === plazaId && t >= d.from && t < d.to) return d;
    return undefined;
  }

  private plantedTransaction(plant: PlantedSpend): TollTransaction {
    const customer = this.world.customerById(plant.customerId);
    if (!customer) throw new RangeError(`planted spend names unknown customer ${plant.customerId}`);
    const vehicle = customer.vehicles[0]!;
    const plaza = this.world.plazas[0]!;
    return {
      transaction_id: this.transactionId(),
      customer_id: customer.id,
      tag_id: vehicle.tagId,
      plate: vehicle.plate,
      plaza_id: plaza.id,
      lane: 1,
      vehicle_class: vehicle.vehicleClass,
      amount_cents: plant.amountCents,
      currency: this.options.currency,
      event_time: new Date(this.clock).toISOString(),
    };
  }

  private transactionId(): string {
    this.counter++;
    return `tx-${this.options.seed.toString(36)}-${this.counter.toString(36).padStart(8, '0')}`;
  }
}

function normalize(values: number[]): number[] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return values.map((v) => v / mean);
}
