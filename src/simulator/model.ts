/**
 * The world the simulator drives through: plazas along roads, vehicle classes with their tariffs, and
 * customers with their vehicles, some heavy users and many light ones.
 */
import { Random } from '../core/random.ts';

export interface VehicleClass {
  readonly id: number;
  readonly name: string;
  /** Share of vehicles of this class. */
  readonly share: number;
  /** Multiplier on a plaza's base toll. */
  readonly tariffFactor: number;
}

export const VEHICLE_CLASSES: readonly VehicleClass[] = [
  { id: 1, name: 'motorcycle', share: 0.04, tariffFactor: 0.5 },
  { id: 2, name: 'car', share: 0.78, tariffFactor: 1 },
  { id: 3, name: 'light truck', share: 0.1, tariffFactor: 1.75 },
  { id: 4, name: 'bus', share: 0.02, tariffFactor: 2.5 },
  { id: 5, name: 'heavy truck', share: 0.06, tariffFactor: 3.5 },
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

export interface Customer {
  readonly id: string;
  readonly vehicles: readonly Vehicle[];
  /** Relative number of trips: heavy users make many more than light ones. */
  readonly weight: number;
}

export interface World {
  readonly plazas: readonly Plaza[];
  readonly customers: readonly Customer[];
  /** Cumulative customer weights, for picking a customer by weight in O(log n). */
  readonly customerCdf: Float64Array;
  readonly plazaCdf: Float64Array;
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
  const customers: Customer[] = [];
  for (let i = 1; i <= options.customers; i++) {
    const id = `C${String(i).padStart(7, '0')}`;
    const vehicleCount = random.chance(0.15) ? random.int(2, 4) : 1;
    const vehicles: Vehicle[] = [];
    for (let v = 0; v < vehicleCount; v++) {
      vehicles.push({
        tagId: `TAG${String(i).padStart(8, '0')}${v}`,
        plate: plate(random),
        vehicleClass: pickClass(random),
      });
    }
    // Pareto-like weights: most customers drive a little, a few drive every day.
    const weight = 1 / (1 - random.next() * 0.999) ** 0.8;
    customers.push({ id, vehicles, weight });
  }
  return { plazas, customers, customerCdf: cdf(customers.map((c) => c.weight)), plazaCdf: cdf(plazas.map((p) => p.weight)) };
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

function pickClass(random: Random): number {
  let u = random.next();
  for (const cls of VEHICLE_CLASSES) {
    if (u < cls.share) return cls.id;
    u -= cls.share;
  }
  return 2;
}

function plate(random: Random): string {
  let s = '';
  for (let i = 0; i < 3; i++) s += PLATE_LETTERS[random.int(0, PLATE_LETTERS.length - 1)];
  return `${s}-${random.int(1000, 9999)}`;
}
