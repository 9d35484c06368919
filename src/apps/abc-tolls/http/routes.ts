/**
 * The route table of the customer API. The module owns every path under `/v1/customers` and `/v1/me`, so a
 * path it does not serve there gets its clear 404, and a method it does not serve 405, rather than falling
 * through to another API.
 */
import { createRouter } from '../../../gateway/index.ts';

export type RouteName =
  | 'createCustomer'
  | 'listCustomers'
  | 'setCustomerThreshold'
  | 'getCustomer'
  | 'updateCustomer'
  | 'issueToken'
  | 'revokeToken'
  | 'me'
  | 'setThreshold'
  | 'setEmailAlerts'
  | 'unsubscribePage'
  | 'unsubscribe'
  | 'spend'
  | 'trips'
  | 'pushKey'
  | 'pushSubscribe'
  | 'pushUnsubscribe'
  | 'listNotifications'
  | 'markRead'
  | 'notificationStream';

/**
 * Operator routes take the native API key; customer routes take a customer token (the customer comes from it);
 * link routes take neither, the link being signed for one customer (the unsubscribe link of alert emails).
 */
export type Audience = 'operator' | 'customer' | 'link';

export interface MatchedRoute {
  readonly name: RouteName;
  readonly audience: Audience;
  /** Path parameters, percent-decoded (operator routes only: customer routes have no ids in the path). */
  readonly params: { readonly customerId?: string; readonly tokenId?: string };
}

/** The routes, in the order their methods are listed in `Allow`; `:name` segments are path parameters. */
const ROUTER = createRouter<{ readonly name: RouteName; readonly audience: Audience }>([
  { pattern: 'POST /v1/customers', route: { name: 'createCustomer', audience: 'operator' } },
  { pattern: 'GET /v1/customers', route: { name: 'listCustomers', audience: 'operator' } },
  { pattern: 'PUT /v1/customers/:customerId/threshold', route: { name: 'setCustomerThreshold', audience: 'operator' } },
  { pattern: 'GET /v1/customers/:customerId', route: { name: 'getCustomer', audience: 'operator' } },
  { pattern: 'PUT /v1/customers/:customerId', route: { name: 'updateCustomer', audience: 'operator' } },
  { pattern: 'POST /v1/customers/:customerId/tokens', route: { name: 'issueToken', audience: 'operator' } },
  { pattern: 'DELETE /v1/customers/:customerId/tokens/:tokenId', route: { name: 'revokeToken', audience: 'operator' } },
  { pattern: 'GET /v1/me', route: { name: 'me', audience: 'customer' } },
  { pattern: 'PUT /v1/me/threshold', route: { name: 'setThreshold', audience: 'customer' } },
  { pattern: 'PUT /v1/me/email-alerts', route: { name: 'setEmailAlerts', audience: 'customer' } },
  { pattern: 'GET /v1/email/unsubscribe', route: { name: 'unsubscribePage', audience: 'link' } },
  { pattern: 'POST /v1/email/unsubscribe', route: { name: 'unsubscribe', audience: 'link' } },
  { pattern: 'GET /v1/me/spend', route: { name: 'spend', audience: 'customer' } },
  { pattern: 'GET /v1/me/trips', route: { name: 'trips', audience: 'customer' } },
  { pattern: 'GET /v1/me/push', route: { name: 'pushKey', audience: 'customer' } },
  { pattern: 'POST /v1/me/push/subscriptions', route: { name: 'pushSubscribe', audience: 'customer' } },
  { pattern: 'DELETE /v1/me/push/subscriptions', route: { name: 'pushUnsubscribe', audience: 'customer' } },
  { pattern: 'GET /v1/me/notifications', route: { name: 'listNotifications', audience: 'customer' } },
  { pattern: 'POST /v1/me/notifications/read', route: { name: 'markRead', audience: 'customer' } },
  { pattern: 'GET /v1/me/notifications/stream', route: { name: 'notificationStream', audience: 'customer' } },
  // `/v1/me/` is not `/v1/me`: the customer API has always been exact about its paths.
], { trailingSlash: 'strict' });

const WHERE = 'the customer API has /v1/me, /v1/me/threshold, /v1/me/email-alerts, /v1/me/spend, /v1/me/trips, /v1/me/push[/subscriptions], /v1/me/notifications[/read|/stream] and /v1/customers[/{id}[/threshold|/tokens]]';

/** Every route of the module as `{ method, path, audience }`, path parameters as `{customerId}` (docs/openapi.json lists them). */
export function listRoutes(): ReadonlyArray<{ readonly method: string; readonly path: string; readonly audience: Audience }> {
  return ROUTER.list().map((r) => ({ method: r.method, path: r.path, audience: r.route.audience }));
}

/** True for the paths this module answers (every method): `/v1/customers[/...]`, `/v1/me[/...]` and `/v1/email/unsubscribe`. */
export function ownsPath(path: string): boolean {
  return path === '/v1/customers' || path.startsWith('/v1/customers/') || path === '/v1/me' || path.startsWith('/v1/me/') || path === '/v1/email/unsubscribe';
}

/**
 * The route of `method` and `path` (no query string); throws NOT_FOUND naming what the path does take,
 * METHOD_NOT_ALLOWED with the methods it does, and MALFORMED_REQUEST for a broken percent-escape, as the native routes do.
 */
export function matchRoute(method: string, path: string): MatchedRoute {
  const { route, params } = ROUTER.route(method, path, WHERE);
  return { name: route.name, audience: route.audience, params };
}

/** The methods `path` (no query string) answers, HEAD left to the gateway; none when it is no route. */
export function methodsOf(path: string): string[] {
  return ROUTER.allowed(path).filter((m) => m !== 'HEAD');
}
