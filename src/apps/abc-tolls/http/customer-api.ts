/**
 * `createCustomerApi`: the customer API of ABC Tolls as a route module the gateway mounts in front of its
 * own routes. It answers every request under `/v1/customers` and `/v1/me` completely, errors included, in
 * the native API's error shape.
 *
 * Who may call what: operator routes run `operatorAuth` (the gateway's native API key check, open when no
 * key is configured, and refusing customer tokens once told of them with `customerTokens`); customer routes
 * need a customer token, and the customer is always the token's.
 */
import crypto from 'node:crypto';
import { TollstreamError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import type { RouteModule } from '../../../gateway/index.ts';
import type { Notifications } from '../../../notify/index.ts';
import type { Warehouse } from '../../../warehouse/index.ts';
import type { Customer, Customers } from '../customers.ts';
import type { SpendReader } from '../spend.ts';
import type { ApiContext, PushSettings } from './context.ts';
import * as customerRoutes from './customer-routes.ts';
import { ClientGoneError, asResponse, headerString, sendError, type IncomingRequest, type OutgoingResponse } from './io.ts';
import * as operatorRoutes from './operator-routes.ts';
import * as pushRoutes from './push-routes.ts';
import { DEFAULT_TOPIC } from '../ledger.ts';
import { unsubscribe, type UnsubscribeLinks } from './unsubscribe.ts';
import { listRoutes, matchRoute, methodsOf, ownsPath, type MatchedRoute } from './routes.ts';

export interface CustomerApiOptions {
  readonly customers: Customers;
  /** Must cut months in the pipeline's zone (`startSpendAlerts` config `timeZone`). */
  readonly spend: SpendReader;
  readonly notify: Notifications;
  /** Trip history (`GET /v1/me/trips`) reads the warehouse's toll_transactions; without it that route answers 503. */
  readonly warehouse?: Warehouse;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Web Push: the VAPID public key browsers subscribe with (`/v1/me/push`), and the push services their
   * subscriptions may point at (config `alerts.pushServices`). Without it those routes answer 404.
   */
  readonly push?: PushSettings;
  /** The topic of spending alerts, which push subscriptions follow. @default 'spend-alerts' */
  readonly alertTopic?: string;
  /** The operator check for `/v1/customers`: throws TollstreamError UNAUTHORIZED. Pass the gateway authenticator's `verifyBearer`. */
  readonly operatorAuth: (authorizationHeader: string | undefined) => void;
  /** Ends open notification streams (give it before closing the gateway, which waits for open requests). */
  readonly shutdown?: AbortSignal;
  /** The currency of every amount, as the pipeline sums it (`startSpendAlerts` config `currency`). @default 'USD' */
  readonly currency?: string;
  /** Largest request body, in bytes; larger ones are answered 413. @default 65536 (64 KiB) */
  readonly maxBodyBytes?: number;
  /** A comment is sent on an idle notification stream this often, in ms. @default 15000 */
  readonly sseKeepAliveMs?: number;
  /**
   * The signed unsubscribe links of alert emails, given exactly when the server sends them: without it (email off)
   * `/v1/email/unsubscribe` answers 404 and customers are told that no alert emails are sent (`email_alerts_available`).
   */
  readonly unsubscribeLinks?: UnsubscribeLinks;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Customer tokens as a credential that is never the operator's, for the authenticator behind `operatorAuth`
 * (`authenticator.refuseAsOperator(customerTokens(customers))`): without it, in local mode, where operator
 * routes need no key, a customer's own token would pass as the operator's.
 */
export function customerTokens(customers: Customers): { kind: string; servesOnly: string; recognizes: (token: string) => boolean } {
  return { kind: 'customer token', servesOnly: 'it serves /v1/me and its sub-routes only', recognizes: (token) => customers.isCustomerToken(token) };
}

export function createCustomerApi(options: CustomerApiOptions): RouteModule {
  const logger = options.logger.child({ component: 'customer-api' });
  const requestPrefix = crypto.randomBytes(4).toString('hex');
  let requestCounter = 0;
  const ctx: ApiContext = {
    customers: options.customers,
    spend: options.spend,
    warehouse: options.warehouse,
    now: options.now ?? Date.now,
    push: options.push,
    alertTopic: options.alertTopic ?? DEFAULT_TOPIC,
    notify: options.notify,
    logger,
    currency: options.currency ?? 'USD',
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
    sseKeepAliveMs: options.sseKeepAliveMs ?? 15_000,
    shutdown: options.shutdown,
    deploymentZone: options.spend.timeZone,
    sendsEmail: options.unsubscribeLinks !== undefined,
  };

  /** The customer of the request's token: the Authorization header, or `?access_token=` where the route allows it (EventSource cannot send headers). */
  const authenticateCustomer = async (req: IncomingRequest, query: URLSearchParams, allowQueryToken: boolean): Promise<{ customer: Customer; token: string }> => {
    const header = headerString(req.headers.authorization);
    let token: string | undefined;
    if (header !== undefined) {
      const m = BEARER.exec(header);
      if (!m) throw new TollstreamError('UNAUTHORIZED', 'send the customer token as "Authorization: Bearer <token>"');
      token = m[1];
    } else if (allowQueryToken) {
      token = query.get('access_token') ?? undefined;
    }
    if (token === undefined) throw new TollstreamError('UNAUTHORIZED', 'this route needs a customer token: send "Authorization: Bearer <token>"');
    const customer = await options.customers.customerForToken(token);
    if (!customer) throw new TollstreamError('UNAUTHORIZED', 'the customer token is not valid (unknown or revoked); ask the operator for a new one');
    return { customer, token };
  };

  const dispatch = async (route: MatchedRoute, req: IncomingRequest, res: OutgoingResponse, query: URLSearchParams): Promise<void> => {
    if (route.audience === 'operator') {
      options.operatorAuth(headerString(req.headers.authorization));
      const customerId = route.params.customerId!;
      switch (route.name) {
        case 'createCustomer':
          return operatorRoutes.createCustomer(ctx, req, res);
        case 'listCustomers':
          return operatorRoutes.listCustomers(ctx, query, res);
        case 'setCustomerThreshold':
          return operatorRoutes.setCustomerThreshold(ctx, customerId, query, req, res);
        case 'getCustomer':
          return operatorRoutes.getCustomer(ctx, customerId, res);
        case 'updateCustomer':
          return operatorRoutes.updateCustomer(ctx, customerId, req, res);
        case 'issueToken':
          return operatorRoutes.issueToken(ctx, customerId, req, res);
        case 'revokeToken':
          return operatorRoutes.revokeToken(ctx, customerId, route.params.tokenId!, req, res);
      }
      throw new TollstreamError('INTERNAL', `operator route ${route.name} has no handler`);
    }
    if (route.audience === 'link') return unsubscribe(ctx, options.unsubscribeLinks, query, req, res);
    const { customer, token } = await authenticateCustomer(req, query, route.name === 'notificationStream');
    switch (route.name) {
      case 'me':
        return customerRoutes.me(ctx, customer, query, res);
      case 'setThreshold':
        return customerRoutes.setThreshold(ctx, customer, query, req, res);
      case 'setEmailAlerts':
        return customerRoutes.setEmailAlerts(ctx, customer, query, req, res);
      case 'spend':
        return customerRoutes.spend(ctx, customer, query, res);
      case 'trips':
        return customerRoutes.trips(ctx, customer, query, res);
      case 'pushKey':
        return pushRoutes.pushKey(ctx, query, res);
      case 'pushSubscribe':
        return pushRoutes.subscribe(ctx, customer, query, req, res);
      case 'pushUnsubscribe':
        return pushRoutes.unsubscribe(ctx, customer, query, req, res);
      case 'listNotifications':
        return customerRoutes.listNotifications(ctx, customer, query, res);
      case 'markRead':
        return customerRoutes.markRead(ctx, customer, query, req, res);
      case 'notificationStream':
        // A stream outlives its request: a token revoked meanwhile ends it before the next notification.
        return customerRoutes.notificationStream(ctx, customer, query, req, res, async () => (await options.customers.customerForToken(token))?.id === customer.id);
    }
    throw new TollstreamError('INTERNAL', `route ${route.name} has no handler`);
  };

  return {
    matches: (_method, path) => ownsPath(path),
    methods: methodsOf,
    routes: () => listRoutes().map(({ method, path }) => ({ method, path })),
    async handle(req, res) {
      const r = asResponse(res);
      const given = r.getHeader('x-amzn-requestid');
      const requestId = typeof given === 'string' ? given : `${requestPrefix}-${(requestCounter++).toString(36)}`;
      if (given === undefined) r.setHeader('x-amzn-requestid', requestId);
      try {
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        const path = q < 0 ? url : url.slice(0, q);
        const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
        await dispatch(matchRoute(req.method ?? 'GET', path), req, res, query);
      } catch (err) {
        if (err instanceof ClientGoneError) return;
        if (r.headersSent) {
          // A notification stream failed after it started: all that is left is to end it.
          logger.warn('streamed response failed', { requestId, err: err instanceof Error ? err : String(err) });
          if (!r.writableEnded) r.end();
          return;
        }
        try {
          sendError(req, res, err, logger, requestId);
        } catch (sendErr) {
          logger.error('could not answer a failed request', { requestId, err: sendErr instanceof Error ? sendErr : String(sendErr) });
          res.destroy();
        }
      }
    },
  };
}
