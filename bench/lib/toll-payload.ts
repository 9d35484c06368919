/**
 * Realistic toll transaction records (about 250 bytes of JSON each), as ABC Tolls' plazas emit them.
 * Benchmarks and load tests use these so that measured rates match the production payload size.
 */
import type { TollTransaction } from '../../src/apps/abc-tolls/index.ts';
import type { Rng } from './rng.ts';

export type { TollTransaction };

const PLAZAS = Array.from({ length: 40 }, (_, i) => `PLZ-${String(i + 1).padStart(3, '0')}`);
const LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';
const HEX = '0123456789abcdef';
/** Toll per vehicle class, in cents. */
const TARIFF_CENTS = [0, 275, 450, 700, 1025, 1380];

function hex(rng: Rng, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += HEX[rng.int(0, 15)];
  return out;
}

/** A transaction; `uniqueId`, when given, makes `transaction_id` unique across a run. */
export function tollTransaction(rng: Rng, eventTimeMs: number, uniqueId?: string): TollTransaction {
  const vehicleClass = rng.int(1, 5);
  const plate =
    LETTERS[rng.int(0, LETTERS.length - 1)]! +
    LETTERS[rng.int(0, LETTERS.length - 1)]! +
    LETTERS[rng.int(0, LETTERS.length - 1)]! +
    '-' +
    String(rng.int(0, 9999)).padStart(4, '0');
  return {
    transaction_id: uniqueId ?? `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-a${hex(rng, 3)}-${hex(rng, 12)}`,
    customer_id: `CUST-${String(rng.int(1, 2_000_000)).padStart(8, '0')}`,
    tag_id: `TAG-${hex(rng, 12).toUpperCase()}`,
    plate,
    plaza_id: rng.pick(PLAZAS),
    lane: rng.int(1, 8),
    vehicle_class: vehicleClass,
    amount_cents: TARIFF_CENTS[vehicleClass]! + rng.int(0, 3) * 25,
    currency: 'USD',
    event_time: new Date(eventTimeMs).toISOString(),
  };
}

/** `count` transactions encoded as JSON bytes, one buffer per record. */
export function encodedTollTransactions(rng: Rng, count: number, startMs = Date.now()): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(Buffer.from(JSON.stringify(tollTransaction(rng, startMs + i * 3))));
  return out;
}
