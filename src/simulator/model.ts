/**
 * The world the simulator drives through: plazas along roads, vehicle classes with their tariffs, and a
 * population of customers, each with their vehicles and a habit: most cross a few times a month, commuters twice
 * every workday, and a few fleets many times a day. A high rate of tolls then comes from a large population,
 * as on a real toll road, so a customer's month looks like a real bill. Customers are not held in memory: each
 * is drawn from the seed and its number when it is picked, so a population of tens of millions costs nothing.
 */
import { mix32, Random } from '../core/random.ts';

export interface VehicleClass {
  readonly id: number;
  readonly name: string;
  /** Multiplier on a plaza's base toll. */
  readonly tariffFactor: number;
}

export const VEHICLE_CLASSES: readonly VehicleClass[] = [
  { id: 1, name: 'motorcycle', tariffFactor: 0.5 },
  { id: 2, name: 'car', tariffFactor: 1 },
  { id: 3, name: 'light truck', tariffFactor: 1.75 },
  { id: 4, name: 'bus', tariffFactor: 2.5 },
  { id: 5, name: 'heavy truck', tariffFactor: 3.5 },
];

export interface Plaza {
  readonly id: string;
  readonly road: string;
  readonly lanes: number;
  /** Toll of a car, in cents. */
  readonly baseTollCents: number;
  /** Share of all traffic that passes this plaza. */
  readonly weight: number;
}

export interface Vehicle {
  readonly tagId: string;
  readonly plate: string;
  readonly vehicleClass: number;
}

/** How a kind of customer drives. */
export interface CustomerHabit {
  readonly name: 'occasional' | 'commuter' | 'fleet';
  /** Share of the population. */
  readonly share: number;
  /** Crossings a month: a customer of this kind makes between these (uniformly). */
  readonly tripsPerMonth: readonly [number, number];
  /** Share of a customer's crossings at their usual plaza (a commuter's daily one). */
  readonly homePlazaShare: number;
  /** Vehicles of one customer, between these (uniformly). */
  readonly vehicles: readonly [number, number];
  /** Share of each vehicle class (by id) among this kind's vehicles. */
  readonly classShares: Readonly<Record<number, number>>;
}

/** Private customers drive cars; fleets (delivery, haulage, coaches) drive trucks and buses. */
const PRIVATE_CLASSES = { 1: 0.05, 2: 0.88, 3: 0.07 };
export const CUSTOMER_HABITS: readonly CustomerHabit[] = [
  { name: 'occasional', share: 0.45, tripsPerMonth: [1, 8], homePlazaShare: 0.3, vehicles: [1, 2], classShares: PRIVATE_CLASSES },
  // Two crossings a workday, on 15 to 25 workdays a month.
  { name: 'commuter', share: 0.47, tripsPerMonth: [30, 50], homePlazaShare: 0.8, vehicles: [1, 2], classShares: PRIVATE_CLASSES },
  { name: 'fleet', share: 0.08, tripsPerMonth: [60, 200], homePlazaShare: 0.2, vehicles: [2, 6], classShares: { 2: 0.25, 3: 0.4, 4: 0.05, 5: 0.3 } },
];

/** Mean crossings a month of a customer of the population. */
export const MEAN_TRIPS_PER_MONTH = CUSTOMER_HABITS.reduce((sum, h) => sum + (h.share * (h.tripsPerMonth[0] + h.tripsPerMonth[1])) / 2, 0);
const MAX_TRIPS_PER_MONTH = Math.max(...CUSTOMER_HABITS.map((h) => h.tripsPerMonth[1]));
/** An average month, in seconds. */
export const SECONDS_PER_MONTH = 30.44 * 86_400;

/**
 * The population whose habits add up to `eventsPerSecond` crossings: with it each customer's month is a real
 * one whatever the rate (about 4.6 million customers per 50 tolls/s).
 */
export function populationFor(eventsPerSecond: number): number {
  return Math.max(1, Math.round((eventsPerSecond * SECONDS_PER_MONTH) / MEAN_TRIPS_PER_MONTH));
}

export interface Customer {
  readonly id: string;
  readonly habit: CustomerHabit['name'];
  readonly vehicles: readonly Vehicle[];
  /** Crossings a month this customer makes; the customer is picked for a crossing in proportion to it. */
  readonly weight: number;
  /** Index of the plaza this customer crosses most. */
  readonly homePlaza: number;
  readonly homePlazaShare: number;
}

export interface World {
  readonly plazas: readonly Plaza[];
  readonly plazaCdf: Float64Array;
  /** Number of customers. */
  readonly population: number;
  /** Customer `index` (0-based), the same for a seed every time. */
  customer(index: number): Customer;
  /** The customer with this id, or undefined when the population has none such. */
  customerById(id: string): Customer | undefined;
  /** Picks the customer of the next crossing, in proportion to how often each crosses. */
  pickCustomer(random: Random): Customer;
}

const ROADS = ['I-90', 'I-94', 'SR-520', 'I-405', 'SR-99'];
const PLATE_LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';

export interface WorldOptions {
  readonly customers: number;
  readonly plazas: number;
  readonly seed: number;
}

export function buildWorld(options: WorldOptions): World {
  const random = new Random(options.seed ^ 0x5eed);
  const plazas: Plaza[] = [];
  for (let i = 1; i <= options.plazas; i++) {
    plazas.push({
      id: `P${String(i).padStart(2, '0')}`,
      road: ROADS[(i - 1) % ROADS.length]!,
      lanes: random.int(2, 8),
      baseTollCents: 25 * random.int(4, 24),
      // A few busy plazas, many quieter ones.
      weight: 0.2 + random.next() ** 2 * 2,
    });
  }
  const plazaCdf = cdf(plazas.map((p) => p.weight));
  const population = options.customers;
  const customerSeed = Math.imul(options.seed ^ 0x5eed, 0x9e3779b1);
  /**
   * A customer's habit and how often it crosses, from two hashes of its number: cheap, because picking a
   * customer tries several before keeping one.
   */
  const habitOf = (index: number): { habit: CustomerHabit; weight: number } => {
    const h = mix32((customerSeed ^ 0x68e31da4) + index);
    let u = h / 4294967296;
    let habit = CUSTOMER_HABITS[CUSTOMER_HABITS.length - 1]!;
    for (const c of CUSTOMER_HABITS) {
      if (u < c.share) {
        habit = c;
        break;
      }
      u -= c.share;
    }
    const v = mix32(h ^ 0x1b873593) / 4294967296;
    return { habit, weight: habit.tripsPerMonth[0] + v * (habit.tripsPerMonth[1] - habit.tripsPerMonth[0]) };
  };
  const customer = (index: number): Customer => {
    const r = new Random((customerSeed + index) >>> 0);
    const { habit, weight } = habitOf(index);
    const n = index + 1;
    const vehicles: Vehicle[] = [];
    for (let v = 0, count = r.int(habit.vehicles[0], habit.vehicles[1]); v < count; v++) {
      vehicles.push({ tagId: `TAG${String(n).padStart(8, '0')}${v}`, plate: plate(r), vehicleClass: pickClass(r, habit.classShares) });
    }
    return { id: `C${String(n).padStart(7, '0')}`, habit: habit.name, vehicles, weight, homePlaza: pickIndex(plazaCdf, r.next()), homePlazaShare: habit.homePlazaShare };
  };
  return {
    plazas,
    plazaCdf,
    population,
    customer,
    customerById(id) {
      const m = /^C(\d+)$/.exec(id);
      const n = m ? Number(m[1]) : 0;
      return n >= 1 && n <= population ? customer(n - 1) : undefined;
    },
    pickCustomer(r) {
      // Rejection sampling: a uniform customer, kept in proportion to how often it crosses.
      for (;;) {
        const index = Math.floor(r.next() * population);
        const { weight } = habitOf(index);
        if (r.next() * MAX_TRIPS_PER_MONTH < weight) return customer(index);
      }
    },
  };
}

export function tollCents(plaza: Plaza, vehicleClass: number): number {
  const cls = VEHICLE_CLASSES.find((c) => c.id === vehicleClass) ?? VEHICLE_CLASSES[1]!;
  return Math.round((plaza.baseTollCents * cls.tariffFactor) / 5) * 5;
}

/** Index of the item whose cumulative weight range holds `u * total`. */
export function pickIndex(cdfValues: Float64Array, u: number): number {
  const target = u * cdfValues[cdfValues.length - 1]!;
  let lo = 0;
  let hi = cdfValues.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdfValues[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cdf(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) out[i] = sum += weights[i]!;
  return out;
}

function pickClass(random: Random, shares: Readonly<Record<number, number>>): number {
  let u = random.next();
  for (const [id, share] of Object.entries(shares)) {
    if (u < share) return Number(id);
    u -= share;
  }
  return 2;
}

function plate(random: Random): string {
  let s = '';
  for (let i = 0; i < 3; i++) s += PLATE_LETTERS[random.int(0, PLATE_LETTERS.length - 1)];
  return `${s}-${random.int(1000, 9999)}`;
}
