/**
 * Trip history: a customer's tolls of one month, newest first, read from the warehouse's `toll_transactions`
 * (the delivery loads it every few seconds, so the history is as fresh as the last load; the answer says how
 * fresh). Only tolls in the deployment's currency count, as in the spend totals. The month's total and count come from the same statement as the page, so on every page the total is
 * the sum of the month's tolls the warehouse held at that moment.
 */
import { TollstreamError } from '../../../core/errors.ts';
import type { QueryValue, Warehouse } from '../../../warehouse/index.ts';
import { createCalendar, isMonthKey } from '../calendar.ts';
import { invalidParameter } from '../../../gateway/index.ts';

export interface TripJson {
  readonly transaction_id: string;
  readonly plaza_id: string;
  /** ISO 8601, UTC. */
  readonly event_time: string;
  readonly vehicle_class: number;
  readonly amount_cents: number;
  readonly currency: string;
}

export interface TripPage {
  readonly month: string;
  readonly time_zone: string;
  readonly total_cents: number;
  readonly transactions: number;
  readonly trips: readonly TripJson[];
  /** Give it back as `cursor` for the next (older) page; absent on the last page. */
  readonly cursor?: string;
  /** The newest arrival time the warehouse has loaded (ISO 8601), null before the first load. */
  readonly as_of: string | null;
}

export interface TripQuery {
  readonly customerId: string;
  readonly month: string;
  readonly timeZone: string;
  /** Only tolls in this currency (the deployment's; spend ignores others too). */
  readonly currency: string;
  readonly limit: number;
  readonly cursor?: string;
}

/** The instant (ms) where `month` (`YYYY-MM`) begins in `timeZone`. */
export function monthStart(month: string, timeZone: string): number {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const wall = Date.UTC(y, m - 1, 1);
  // Local midnight is `wall` minus the zone's offset at that instant; a second pass settles a DST change in between.
  let t = wall - zoneOffsetMs(wall, timeZone);
  t = wall - zoneOffsetMs(t, timeZone);
  return t;
}

/** The month after `YYYY-MM`. */
export function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** How far `timeZone`'s wall clock is ahead of UTC at `ms`, in ms. */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The month a request names (`?month=YYYY-MM`), or the current one in the zone. */
export function monthParam(query: URLSearchParams, timeZone: string, now: number): string {
  const given = query.get('month');
  if (given === null) return createCalendar(timeZone).month(now);
  if (!isMonthKey(given)) throw invalidParameter('month', 'month must be YYYY-MM, e.g. 2026-11', given);
  return given;
}

interface Cursor {
  readonly eventTime: number;
  readonly transactionId: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.eventTime, c.transactionId])).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return { eventTime: value[0] as number, transactionId: value[1] };
    }
  } catch {
    // falls through to the error below
  }
  throw invalidParameter('cursor', 'cursor must be the cursor of a previous page of trips, unchanged', text);
}

/** One page of the customer's trips in `query.month`, with the month's total and count. */
export async function tripPage(warehouse: Warehouse, query: TripQuery): Promise<TripPage> {
  const from = monthStart(query.month, query.timeZone);
  const to = monthStart(nextMonth(query.month), query.timeZone);
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const ts = (name: string) => warehouse.dialect.timestampParam(name);
  const after = cursor
    ? `WHERE event_time < ${ts('before_time')} OR (event_time = ${ts('before_time')} AND transaction_id < $before_id)`
    : '';
  // One statement: the totals and the page see the same rows, even while a load commits.
  const sql = `
    WITH month_tolls AS (
      SELECT transaction_id, plaza_id, event_time, vehicle_class, amount_cents, currency
      FROM toll_transactions
      WHERE customer_id = $customer AND currency = $currency AND event_time >= ${ts('from')} AND event_time < ${ts('to')}
    ),
    totals AS (SELECT count(*) AS n, coalesce(sum(amount_cents), 0) AS total FROM month_tolls),
    page AS (
      SELECT * FROM month_tolls ${after}
      ORDER BY event_time DESC, transaction_id DESC
      LIMIT ${query.limit + 1}
    )
    SELECT CAST(totals.n AS BIGINT) AS n, CAST(totals.total AS BIGINT) AS total,
           page.transaction_id, page.plaza_id, page.event_time, page.vehicle_class, CAST(page.amount_cents AS BIGINT) AS amount_cents, page.currency
    FROM totals LEFT JOIN page ON true
    ORDER BY page.event_time DESC, page.transaction_id DESC`;
  const params = {
    customer: query.customerId,
    currency: query.currency,
    from: new Date(from),
    to: new Date(to),
    ...(cursor ? { before_time: new Date(cursor.eventTime), before_id: cursor.transactionId } : {}),
  };
  const [result, freshness] = await Promise.all([warehouse.query(sql, params), warehouse.freshness()]);
  const rows = result.rows;
  const first = rows[0];
  if (!first) throw new TollstreamError('INTERNAL', 'the trip history query returned no totals row');
  const trips: TripJson[] = [];
  for (const row of rows) {
    if (row[2] === null) continue; // the totals row of an empty page
    trips.push({
      transaction_id: String(row[2]),
      plaza_id: String(row[3]),
      event_time: isoUtc(row[4]),
      vehicle_class: Number(row[5]),
      amount_cents: safeNumber(row[6], 'amount_cents'),
      currency: String(row[7]),
    });
  }
  const more = trips.length > query.limit;
  if (more) trips.length = query.limit;
  const last = trips.at(-1);
  return {
    month: query.month,
    time_zone: query.timeZone,
    total_cents: safeNumber(first[1], 'total'),
    transactions: safeNumber(first[0], 'count'),
    trips,
    ...(more && last ? { cursor: encodeCursor({ eventTime: Date.parse(last.event_time), transactionId: last.transaction_id }) } : {}),
    as_of: freshness.newestArrivalTime,
  };
}

/** Warehouse timestamps come back as ISO strings without a zone (they are UTC). */
function isoUtc(value: QueryValue | undefined): string {
  const text = String(value);
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) throw new TollstreamError('INTERNAL', `the warehouse gave an event time that is not a timestamp: ${text}`);
  return new Date(ms).toISOString();
}

function safeNumber(value: QueryValue | undefined, what: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new TollstreamError('INTERNAL', `the trip history ${what} is not a safe integer: ${String(value)}`);
  return n;
}
