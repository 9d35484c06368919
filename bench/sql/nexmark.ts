/**
 * A Nexmark event generator: an online auction's persons, auctions and bids, in the proportions, id
 * arithmetic and skew of the Nexmark benchmark as its public descriptions define them (written here from
 * those descriptions).
 *
 * - Events are numbered 0, 1, 2, ...; in every 50 consecutive events there is 1 person, then 3 auctions,
 *   then 46 bids. A person's or auction's id follows from its event number, so the stream needs no state
 *   to know how many persons and auctions exist so far.
 * - Event time advances at `eventsPerSecond`: event n happens at `baseTime + floor(n * 1000 / rate)` ms, in
 *   order (one generator; Nexmark's parallel generators interleave, which the watermark delay absorbs).
 * - Skew: half the bids go to the current "hot" auction (the latest auction id that is a multiple of 100),
 *   three quarters of the bids come from a "hot" bidder and three quarters of the auctions from a "hot"
 *   seller (the latest person id that is a multiple of 100, plus one for bidders). The other bids pick one of
 *   the last 100 auctions (or one of the next 10 not created yet), and persons one of the last 1,000.
 * - Prices are `round(10^(6u) * 100)` cents-like units for uniform u: log-uniform between 100 and 10^8.
 * - `extra` pads each event with text towards Nexmark's average sizes (bids ~100 bytes, auctions ~500,
 *   persons ~200), taken from a pool of seeded strings so generating is cheap.
 *
 * Deterministic: the same seed, count and rate give the same events.
 */
import { createRng, type Rng } from '../lib/rng.ts';

export const PERSON_PROPORTION = 1;
export const AUCTION_PROPORTION = 3;
export const BID_PROPORTION = 46;
const PROPORTION_DENOMINATOR = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;

export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
const NUM_CATEGORIES = 5;
/** Bids to a hot auction: all but 1 in HOT_AUCTION_RATIO. */
const HOT_AUCTION_RATIO = 2;
const HOT_BIDDER_RATIO = 4;
const HOT_SELLER_RATIO = 4;
/** Hot ids are multiples of this. */
const HOT_ID_STRIDE = 100;
const IN_FLIGHT_AUCTIONS = 100;
const AUCTION_ID_LEAD = 10;
const ACTIVE_PEOPLE = 1000;
const PERSON_ID_LEAD = 10;
const CHANNELS = 10_000;
const NAMED_CHANNELS = ['Apple', 'Google', 'Facebook', 'Baidu'] as const;

const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'] as const;
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'] as const;
const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'] as const;
const US_CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'] as const;

export interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  /** Event time, epoch milliseconds. */
  dateTime: number;
  extra: string;
}

export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  dateTime: number;
  expires: number;
  seller: number;
  category: number;
  extra: string;
}

export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  dateTime: number;
  extra: string;
}

export interface NexmarkOptions {
  /** Total events (persons + auctions + bids). */
  readonly events: number;
  readonly seed: number;
  /** Event-time rate: events per second of event time. @default 10000 */
  readonly eventsPerSecond?: number;
  /** Event time of event 0, epoch ms. @default 2026-03-02T08:00:00Z */
  readonly baseTime?: number;
}

export interface NexmarkEvents {
  readonly persons: Person[];
  readonly auctions: Auction[];
  readonly bids: Bid[];
  readonly firstTime: number;
  readonly lastTime: number;
}

/** The latest person id (base 0) at event n: the person event of n's group of 50 comes first in it. */
function lastBase0PersonId(eventId: number): number {
  const epoch = Math.floor(eventId / PROPORTION_DENOMINATOR);
  const offset = Math.min(eventId % PROPORTION_DENOMINATOR, PERSON_PROPORTION - 1);
  return epoch * PERSON_PROPORTION + offset;
}

/** The latest auction id (base 0) at event n. */
function lastBase0AuctionId(eventId: number): number {
  const epoch = Math.floor(eventId / PROPORTION_DENOMINATOR);
  let offset = eventId % PROPORTION_DENOMINATOR;
  if (offset < PERSON_PROPORTION) {
    // A person event: the latest auction is the previous epoch's last one.
    return Math.max(0, epoch * AUCTION_PROPORTION - 1);
  }
  offset -= PERSON_PROPORTION;
  if (offset < AUCTION_PROPORTION) return epoch * AUCTION_PROPORTION + offset;
  return epoch * AUCTION_PROPORTION + AUCTION_PROPORTION - 1;
}

/** One of the recently active persons, or one of the next few to appear. */
function nextBase0PersonId(eventId: number, rng: Rng): number {
  const people = lastBase0PersonId(eventId) + 1;
  const active = Math.min(people, ACTIVE_PEOPLE);
  const n = Math.floor(rng.next() * (active + PERSON_ID_LEAD));
  return people - active + n;
}

/** One of the auctions in flight, or one of the next few to open. */
function nextBase0AuctionId(eventId: number, rng: Rng): number {
  const last = lastBase0AuctionId(eventId);
  const min = Math.max(last - IN_FLIGHT_AUCTIONS, 0);
  return min + Math.floor(rng.next() * (last - min + 1 + AUCTION_ID_LEAD));
}

function nextPrice(rng: Rng): number {
  return Math.round(10 ** (rng.next() * 6) * 100);
}

/** Seeded strings of the given lengths, reused so generating a million events stays cheap. */
function stringPool(rng: Rng, count: number, minLength: number, maxLength: number, spaces = true): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyz ';
  const last = spaces ? 27 : 26;
  const pool: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = rng.int(minLength, maxLength);
    let s = '';
    for (let j = 0; j < length; j++) s += letters[Math.floor(rng.next() * (j === 0 ? 26 : last))];
    pool.push(s);
  }
  return pool;
}

/** Generates `events` Nexmark events, split by kind, each list in event-time order. */
export function generateNexmark(options: NexmarkOptions): NexmarkEvents {
  const rate = options.eventsPerSecond ?? 10_000;
  const baseTime = options.baseTime ?? Date.UTC(2026, 2, 2, 8, 0, 0);
  const rng = createRng(options.seed);
  const words = stringPool(rng, 512, 3, 10, false);
  const bidExtras = stringPool(rng, 256, 0, 60);
  const auctionExtras = stringPool(rng, 256, 0, 300);
  const personExtras = stringPool(rng, 256, 0, 120);
  const descriptions = stringPool(rng, 256, 20, 100);
  const channelUrls: string[] = [];
  for (let c = 0; c < CHANNELS; c++) {
    channelUrls.push(`https://www.nexmark.com/${rng.pick(words)}/${rng.pick(words)}/${rng.pick(words)}/item.htm?query=1&channel_id=${c}`);
  }
  const channelName = (c: number) => (c < NAMED_CHANNELS.length ? NAMED_CHANNELS[c]! : `channel-${c}`);

  const persons: Person[] = [];
  const auctions: Auction[] = [];
  const bids: Bid[] = [];
  for (let n = 0; n < options.events; n++) {
    const dateTime = baseTime + Math.floor((n * 1000) / rate);
    const offset = n % PROPORTION_DENOMINATOR;
    if (offset < PERSON_PROPORTION) {
      const id = lastBase0PersonId(n) + FIRST_PERSON_ID;
      const card = () => String(rng.int(0, 9999)).padStart(4, '0');
      persons.push({
        id,
        name: `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`,
        emailAddress: `${rng.pick(words)}@${rng.pick(words)}.com`,
        creditCard: `${card()} ${card()} ${card()} ${card()}`,
        city: rng.pick(US_CITIES),
        state: rng.pick(US_STATES),
        dateTime,
        extra: rng.pick(personExtras),
      });
    } else if (offset < PERSON_PROPORTION + AUCTION_PROPORTION) {
      const id = lastBase0AuctionId(n) + FIRST_AUCTION_ID;
      const seller =
        rng.int(0, HOT_SELLER_RATIO - 1) > 0
          ? Math.floor(lastBase0PersonId(n) / HOT_ID_STRIDE) * HOT_ID_STRIDE
          : nextBase0PersonId(n, rng);
      const initialBid = nextPrice(rng);
      auctions.push({
        id,
        itemName: `${rng.pick(words)} ${rng.pick(words)}`,
        description: rng.pick(descriptions),
        initialBid,
        reserve: initialBid + nextPrice(rng),
        dateTime,
        // Auctions stay open for a few seconds to a minute of event time.
        expires: dateTime + rng.int(2_000, 60_000),
        seller: seller + FIRST_PERSON_ID,
        category: FIRST_CATEGORY_ID + rng.int(0, NUM_CATEGORIES - 1),
        extra: rng.pick(auctionExtras),
      });
    } else {
      const auction =
        rng.int(0, HOT_AUCTION_RATIO - 1) > 0
          ? Math.floor(lastBase0AuctionId(n) / HOT_ID_STRIDE) * HOT_ID_STRIDE
          : nextBase0AuctionId(n, rng);
      const bidder =
        rng.int(0, HOT_BIDDER_RATIO - 1) > 0
          ? Math.floor(lastBase0PersonId(n) / HOT_ID_STRIDE) * HOT_ID_STRIDE + 1
          : nextBase0PersonId(n, rng);
      const channel = rng.int(0, CHANNELS - 1);
      bids.push({
        auction: auction + FIRST_AUCTION_ID,
        bidder: bidder + FIRST_PERSON_ID,
        price: nextPrice(rng),
        channel: channelName(channel),
        url: channelUrls[channel]!,
        dateTime,
        extra: rng.pick(bidExtras),
      });
    }
  }
  const lastTime = baseTime + Math.floor((Math.max(0, options.events - 1) * 1000) / rate);
  return { persons, auctions, bids, firstTime: baseTime, lastTime };
}

/** The rows as an async iterable of arrays (batches), the cheap way to feed `runQuery`. */
export async function* inBatches<T>(rows: readonly T[], size = 1000): AsyncGenerator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
