/**
 * Customer routes under `/v1/me`. The customer is the token's: no route takes a customer id, so nothing a
 * caller puts in a path, query or body can reach another customer's data.
 */
import { TollstreamError } from '../../../core/errors.ts';
import { lastEventIdOf, writeSse, type SseEvent } from '../../../notify/index.ts';
import type { InboxEntry } from '../../../notify/index.ts';
import type { Customer } from '../customers.ts';
import { customerJson, notificationJson, type ApiContext } from './context.ts';
import { readJsonObject, sendJson, type IncomingRequest, type OutgoingResponse } from './io.ts';
import { monthParam, tripPage } from './trips.ts';
import { intParam, invalidField, onlyFields, onlyParams } from '../../../gateway/index.ts';

/** Inbox pages: the contract's `limit` bounds, as the inbox API enforces them. */
const MAX_LIMIT = 500;
const DEFAULT_LIMIT = 50;
/** The inbox API marks at most this many ids per call. */
const MAX_READ_IDS = 1000;

/** `GET /v1/me` -> the customer, with the threshold and the currency of every amount. */
export function me(ctx: ApiContext, customer: Customer, query: URLSearchParams, res: OutgoingResponse): void {
  onlyParams(query, []);
  sendJson(res, 200, customerJson(ctx, customer));
}

/**
 * `PUT /v1/me/threshold` `{ threshold_cents: integer >= 0 | null }`. A threshold already below this month's
 * total publishes the breach in the same transaction, so the notification follows at once.
 */
export async function setThreshold(ctx: ApiContext, customer: Customer, query: URLSearchParams, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  onlyParams(query, []);
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  onlyFields(body, ['threshold_cents']);
  const cents = centsOrNull(body, 'threshold_cents');
  if (cents === null) {
    await ctx.customers.clearThreshold(customer.id);
    const month = await ctx.spend.monthToDate(customer.id);
    sendJson(res, 200, { threshold_cents: null, month: month.month, total_cents: month.totalCents, breached: false });
    return;
  }
  const change = await ctx.customers.setThreshold(customer.id, cents);
  sendJson(res, 200, { threshold_cents: cents, month: change.month, total_cents: change.monthTotalCents, breached: change.breached });
}

/**
 * `PUT /v1/me/email-alerts` `{ enabled: boolean }` -> the customer: stops alert emails (`false`) or starts them
 * again. Alerts keep reaching the inbox and the customer's browsers either way.
 */
export async function setEmailAlerts(ctx: ApiContext, customer: Customer, query: URLSearchParams, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  onlyParams(query, []);
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  onlyFields(body, ['enabled']);
  if (typeof body.enabled !== 'boolean') throw invalidField('enabled', 'enabled must be true (send alert emails) or false (stop them)', body.enabled);
  sendJson(res, 200, customerJson(ctx, await ctx.customers.setEmailAlerts(customer.id, body.enabled)));
}

/** `GET /v1/me/spend` -> this month so far, by day, in the deployment's zone. */
export async function spend(ctx: ApiContext, customer: Customer, query: URLSearchParams, res: OutgoingResponse): Promise<void> {
  onlyParams(query, []);
  const m = await ctx.spend.monthToDate(customer.id);
  sendJson(res, 200, {
    month: m.month,
    time_zone: m.timeZone,
    total_cents: m.totalCents,
    transactions: m.transactions,
    threshold_cents: m.thresholdCents ?? null,
    currency: ctx.currency,
    days: m.days.map((d) => ({ date: d.day, total_cents: d.totalCents, transactions: d.transactions })),
  });
}

/**
 * `GET /v1/me/trips?month=YYYY-MM&limit=&cursor=` -> the month's tolls newest first, a page at a time, with the
 * month's total and count (the sum of every toll of the month, not of the page) and `as_of`, the newest
 * arrival the warehouse has loaded. The month defaults to the current one in the deployment's zone.
 */
export async function trips(ctx: ApiContext, customer: Customer, query: URLSearchParams, res: OutgoingResponse): Promise<void> {
  onlyParams(query, ['month', 'limit', 'cursor']);
  const timeZone = ctx.deploymentZone;
  const month = monthParam(query, timeZone, ctx.now());
  const limit = intParam(query, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
  const cursor = query.get('cursor') ?? undefined;
  if (!ctx.warehouse) {
    throw new TollstreamError('WAREHOUSE_UNAVAILABLE', 'trip history is read from the warehouse, which this deployment runs without (warehouse.enabled: false)');
  }
  const page = await tripPage(ctx.warehouse, { customerId: customer.id, month, timeZone, currency: ctx.currency, limit, ...(cursor === undefined ? {} : { cursor }) });
  sendJson(res, 200, { ...page, currency: ctx.currency });
}

/** `GET /v1/me/notifications?after=&limit=` -> oldest first after `after`, and the unread count. */
export async function listNotifications(ctx: ApiContext, customer: Customer, query: URLSearchParams, res: OutgoingResponse): Promise<void> {
  onlyParams(query, ['after', 'limit']);
  const after = intParam(query, 'after', 0, Number.MAX_SAFE_INTEGER, 0);
  const limit = intParam(query, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
  const entries = await ctx.notify.listInbox(customer.id, { after, limit });
  sendJson(res, 200, { notifications: entries.map(notificationJson), unread: await ctx.notify.unreadCount(customer.id) });
}

/** `POST /v1/me/notifications/read` `{ ids: [..] }` -> `{ unread, marked }`. Ids of other inboxes change nothing. */
export async function markRead(ctx: ApiContext, customer: Customer, query: URLSearchParams, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  onlyParams(query, []);
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  onlyFields(body, ['ids']);
  const ids = body.ids;
  if (!Array.isArray(ids)) throw invalidField('ids', 'ids must be an array of notification ids', ids);
  if (ids.length > MAX_READ_IDS) throw invalidField('ids', `ids may hold at most ${MAX_READ_IDS} notification ids per request`, ids.length);
  for (const id of ids) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw invalidField('ids', 'every id in ids must be a notification id (a whole number, 1 or more)', id);
  }
  const marked = await ctx.notify.markRead(customer.id, ids as number[]);
  sendJson(res, 200, { unread: await ctx.notify.unreadCount(customer.id), marked });
}

/**
 * `GET /v1/me/notifications/stream`: Server-Sent Events, `event: notification`, `id: <inbox id>`, data the
 * notification as the list gives it. Replays entries after `Last-Event-ID` (header or `?lastEventId=`),
 * then follows new ones until the client leaves, the server shuts down, or `stillAuthorized` turns false
 * (checked before each notification, so a revoked token receives nothing more).
 */
export async function notificationStream(
  ctx: ApiContext,
  customer: Customer,
  query: URLSearchParams,
  req: IncomingRequest,
  res: OutgoingResponse,
  stillAuthorized: () => Promise<boolean>,
): Promise<void> {
  onlyParams(query, ['lastEventId', 'access_token']);
  const lastEventId = lastEventIdOf(req.headers, req.url);
  const feed = new AbortController();
  // Created before the head is written: a malformed Last-Event-ID is still a plain 400.
  let entries: AsyncIterable<InboxEntry>;
  try {
    entries = ctx.notify.inboxEvents(customer.id, { ...(lastEventId !== undefined ? { lastEventId } : {}), signal: feed.signal });
  } catch (err) {
    if (err instanceof TollstreamError && err.code === 'INVALID_ARGUMENT') throw invalidField('Last-Event-ID', err.message, lastEventId);
    throw err;
  }
  const source = async function* (signal: AbortSignal): AsyncIterable<SseEvent> {
    if (signal.aborted) return;
    signal.addEventListener('abort', () => feed.abort(), { once: true });
    for await (const entry of entries) {
      if (!(await stillAuthorized())) return;
      yield { id: entry.id, event: 'notification', data: JSON.stringify(notificationJson(entry)) };
    }
  };
  try {
    await writeSse(res, source, { keepAliveMs: ctx.sseKeepAliveMs, ...(ctx.shutdown ? { signal: ctx.shutdown } : {}), headers: { 'cache-control': 'no-store, no-transform' } });
  } finally {
    feed.abort();
  }
}

/** A threshold: a whole number of cents, 0 or more, or null for none; the field must be present. */
function centsOrNull(body: Record<string, unknown>, field: string): number | null {
  if (!(field in body)) throw invalidField(field, `${field} is required: a whole number of cents, 0 or more, or null for none`);
  const value = body[field];
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidField(field, `${field} must be a whole number of cents, 0 or more (or null for none)`, value);
  }
  return value;
}
