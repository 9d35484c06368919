/**
 * Web Push for the customer: the key a browser subscribes with, and the browser's subscription to the
 * customer's spending alerts. A subscription follows the token's customer only: the dispatcher pushes a
 * subscription nothing but its own customer's alerts.
 */
import { TollstreamError } from '../../../core/errors.ts';
import type { Customer } from '../customers.ts';
import type { ApiContext, PushSettings } from './context.ts';
import { invalidField, onlyFields, onlyParams } from '../../../gateway/index.ts';
import { readJsonObject, sendJson, type IncomingRequest, type OutgoingResponse } from './io.ts';

function settings(ctx: ApiContext): PushSettings {
  if (ctx.push === undefined) throw new TollstreamError('NOT_FOUND', 'this server does not send Web Push alerts');
  return ctx.push;
}

/**
 * Whether the server may POST to `endpoint`: the customer chooses it, so only known push services are taken
 * (otherwise a token would make the server send requests to any address, internal ones included).
 */
export function pushServiceAllows(services: readonly string[], endpoint: string): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  return services.some((service) =>
    service.includes('://') ? url.origin === service : url.protocol === 'https:' && (url.hostname === service || url.hostname.endsWith(`.${service}`)),
  );
}

/** `GET /v1/me/push` -> `{ application_server_key }`: the VAPID public key, base64url, for `pushManager.subscribe`. */
export function pushKey(ctx: ApiContext, query: URLSearchParams, res: OutgoingResponse): void {
  onlyParams(query, []);
  sendJson(res, 200, { application_server_key: settings(ctx).publicKey });
}

/**
 * `POST /v1/me/push/subscriptions` with the browser's `PushSubscription.toJSON()` (`{ endpoint, keys: { p256dh,
 * auth }, expirationTime? }`) -> 201 `{ subscription_id, endpoint }`. The same endpoint again replaces the keys.
 */
export async function subscribe(ctx: ApiContext, customer: Customer, query: URLSearchParams, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  onlyParams(query, []);
  const push = settings(ctx);
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  onlyFields(body, ['endpoint', 'keys', 'expirationTime']);
  const endpoint = body.endpoint;
  if (typeof endpoint !== 'string') throw invalidField('endpoint', 'endpoint must be the push subscription URL the browser gave', endpoint);
  if (!pushServiceAllows(push.services, endpoint)) {
    throw invalidField('endpoint', "endpoint is not at a push service this server sends to (the operator's alerts.pushServices)", endpoint);
  }
  const keys = body.keys;
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw invalidField('keys', 'keys must be the object { p256dh, auth } the browser gave', keys);
  const { p256dh, auth } = keys as Record<string, unknown>;
  if (typeof p256dh !== 'string') throw invalidField('keys.p256dh', 'keys.p256dh must be a base64url string', p256dh);
  if (typeof auth !== 'string') throw invalidField('keys.auth', 'keys.auth must be a base64url string', auth);
  const subscription = await ctx.notify.subscribe(ctx.alertTopic, { protocol: 'webpush', customerId: customer.id, endpoint, p256dh, auth });
  sendJson(res, 201, { subscription_id: subscription.id, endpoint });
}

/** `DELETE /v1/me/push/subscriptions` `{ endpoint }` -> 204; 404 when this customer has no subscription there. */
export async function unsubscribe(ctx: ApiContext, customer: Customer, query: URLSearchParams, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  onlyParams(query, []);
  settings(ctx);
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  onlyFields(body, ['endpoint']);
  const endpoint = body.endpoint;
  if (typeof endpoint !== 'string') throw invalidField('endpoint', 'endpoint must be the push subscription URL to remove', endpoint);
  const subscription = await ctx.notify.pushSubscription(ctx.alertTopic, customer.id, endpoint);
  if (!subscription) throw new TollstreamError('NOT_FOUND', 'you have no push subscription with this endpoint', { context: { field: 'endpoint' } });
  await ctx.notify.unsubscribe(subscription.id);
  sendJson(res, 204, undefined);
}
