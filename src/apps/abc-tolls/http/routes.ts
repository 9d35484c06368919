/**
 * The route table of the customer API. The module owns every path under `/v1/customers` and `/v1/me`, so a
 * path it does not serve there gets its clear 404, and a method it does not serve 405, rather than falling
 * through to another API.
 */
import { TollstreamError } from '../../../core/errors.ts';
import { methodNotAllowed, pathParts } from '../../../gateway/index.ts';

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

interface RouteSpec {
  readonly method: string;
  /** Segments after the leading `/`; `:name` is a parameter. */
  readonly pattern: readonly string[];
  readonly name: RouteName;
  readonly audience: Audience;
}

const ROUTES: readonly RouteSpec[] = [
  { method: 'POST', pattern: ['v1', 'customers'], name: 'createCustomer', audience: 'operator' },
  { method: 'GET', pattern: ['v1', 'customers'], name: 'listCustomers', audience: 'operator' },
  { method: 'PUT', pattern: ['v1', 'customers', ':customerId', 'threshold'], name: 'setCustomerThreshold', audience: 'operator' },
  { method: 'GET', pattern: ['v1', 'customers', ':customerId'], name: 'getCustomer', audience: 'operator' },
  { method: 'PUT', pattern: ['v1', 'customers', ':customerId'], name: 'updateCustomer', audience: 'operator' },
  { method: 'POST', pattern: ['v1', 'customers', ':customerId', 'tokens'], name: 'issueToken', audience: 'operator' },
  { method: 'DELETE', pattern: ['v1', 'customers', ':customerId', 'tokens', ':tokenId'], name: 'revokeToken', audience: 'operator' },
  { method: 'GET', pattern: ['v1', 'me'], name: 'me', audience: 'customer' },
  { method: 'PUT', pattern: ['v1', 'me', 'threshold'], name: 'setThreshold', audience: 'customer' },
  { method: 'PUT', pattern: ['v1', 'me', 'email-alerts'], name: 'setEmailAlerts', audience: 'customer' },
  { method: 'GET', pattern: ['v1', 'email', 'unsubscribe'], name: 'unsubscribePage', audience: 'link' },
  { method: 'POST', pattern: ['v1', 'email', 'unsubscribe'], name: 'unsubscribe', audience: 'link' },
  { method: 'GET', pattern: ['v1', 'me', 'spend'], name: 'spend', audience: 'customer' },
  { method: 'GET', pattern: ['v1', 'me', 'trips'], name: 'trips', audience: 'customer' },
  { method: 'GET', pattern: ['v1', 'me', 'push'], name: 'pushKey', audience: 'customer' },
  { method: 'POST', pattern: ['v1', 'me', 'push', 'subscriptions'], name: 'pushSubscribe', audience: 'customer' },
  { method: 'DELETE', pattern: ['v1', 'me', 'push', 'subscriptions'], name: 'pushUnsubscribe', audience: 'customer' },
  { method: 'GET', pattern: ['v1', 'me', 'notifications'], name: 'listNotifications', audience: 'customer' },
  { method: 'POST', pattern: ['v1', 'me', 'notifications', 'read'], name: 'markRead', audience: 'customer' },
  { method: 'GET', pattern: ['v1', 'me', 'notifications', 'stream'], name: 'notificationStream', audience: 'customer' },
];

/** Every route of the module as `{ method, path, audience }`, path parameters as `{customerId}` (docs/openapi.json lists them). */
export function listRoutes(): ReadonlyArray<{ readonly method: string; readonly path: string; readonly audience: Audience }> {
  return ROUTES.map((r) => ({ method: r.method, path: `/${r.pattern.map((p) => (p.startsWith(':') ? `{${p.slice(1)}}` : p)).join('/')}`, audience: r.audience }));
}

/** True for the paths this module answers (every method): `/v1/customers[/...]`, `/v1/me[/...]` and `/v1/email/unsubscribe`. */
export function ownsPath(path: string): boolean {
  return path === '/v1/customers' || path.startsWith('/v1/customers/') || path === '/v1/me' || path.startsWith('/v1/me/') || path === '/v1/email/unsubscribe';
}

/**
 * The route of `method` and `path` (no query string); throws NOT_FOUND naming what the path does take, and
 * MALFORMED_REQUEST for a broken percent-escape, as the native routes do.
 */
export function matchRoute(method: string, path: string): MatchedRoute {
  const segments = pathParts(path).slice(1);
  const methods: string[] = [];
  for (const route of ROUTES) {
    if (!fits(route.pattern, segments)) continue;
    if (route.method !== method) {
      methods.push(route.method);
      continue;
    }
    const params: { customerId?: string; tokenId?: string } = {};
    route.pattern.forEach((part, i) => {
      if (part === ':customerId') params.customerId = segments[i]!;
      else if (part === ':tokenId') params.tokenId = segments[i]!;
    });
    return { name: route.name, audience: route.audience, params };
  }
  if (methods.length > 0) throw methodNotAllowed(method, path, methods);
  throw new TollstreamError('NOT_FOUND', `no route ${method} ${path}; the customer API has /v1/me, /v1/me/threshold, /v1/me/email-alerts, /v1/me/spend, /v1/me/trips, /v1/me/push[/subscriptions], /v1/me/notifications[/read|/stream] and /v1/customers[/{id}[/threshold|/tokens]]`, {
    context: { method, path },
  });
}

/** The methods `path` (no query string) answers; none when it is no route. */
export function methodsOf(path: string): string[] {
  const segments = path.split('/').slice(1);
  return ROUTES.filter((route) => fits(route.pattern, segments)).map((route) => route.method);
}

function fits(pattern: readonly string[], segments: readonly string[]): boolean {
  if (pattern.length !== segments.length) return false;
  return pattern.every((part, i) => (part.startsWith(':') ? segments[i] !== '' : part === segments[i]));
}
