/**
 * Operator routes: create and update customers, issue and revoke their tokens. The caller has already passed
 * the operator check (the native API key, when one is configured).
 */
import { TollstreamError } from '../../../core/errors.ts';
import { customerJson, type ApiContext } from './context.ts';
import { discardBody, readJsonObject, sendJson, type IncomingRequest, type OutgoingResponse } from './io.ts';
import { intParam, invalidField, onlyFields, onlyParams, stringField } from '../../../gateway/index.ts';
import { setThreshold } from './customer-routes.ts';
import type { Customer } from '../customers.ts';

/** `POST /v1/customers` `{ customer_id, name?, email, time_zone? }` -> 201 customer. The name defaults to the id. */
export async function createCustomer(ctx: ApiContext, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  onlyFields(body, ['customer_id', 'name', 'email', 'time_zone']);
  const id = stringField(body, 'customer_id', { required: true });
  const name = stringField(body, 'name') ?? id;
  const email = stringField(body, 'email');
  if (email === undefined) throw invalidField('email', 'email is required: the address of the customer');
  const timeZone = stringField(body, 'time_zone');
  const created = await ctx.customers.create({ id, name, email, ...(timeZone !== undefined ? { timeZone } : {}) });
  sendJson(res, 201, customerJson(ctx, created));
}

/** `GET /v1/customers?limit=&cursor=` -> 200 `{ customers, cursor? }` in id order; `cursor` continues the list. */
export async function listCustomers(ctx: ApiContext, query: URLSearchParams, res: OutgoingResponse): Promise<void> {
  onlyParams(query, ['limit', 'cursor']);
  const limit = intParam(query, 'limit', 1, 1000, 100);
  const cursor = query.get('cursor') ?? undefined;
  const page = await ctx.customers.list({ limit, ...(cursor === undefined ? {} : { cursor }) });
  const customers = page.customers.map((c) => customerJson(ctx, c));
  sendJson(res, 200, page.cursor === undefined ? { customers } : { customers, cursor: page.cursor });
}

/**
 * `PUT /v1/customers/{id}/threshold` `{ threshold_cents: integer >= 0 | null }`: what the customer can do with
 * `PUT /v1/me/threshold`, done by the operator (same answer, same immediate breach when already past it).
 */
export async function setCustomerThreshold(ctx: ApiContext, customerId: string, query: URLSearchParams, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  await setThreshold(ctx, await existing(ctx, customerId), query, req, res);
}

/** `GET /v1/customers/{id}` -> 200 customer. */
export async function getCustomer(ctx: ApiContext, customerId: string, res: OutgoingResponse): Promise<void> {
  sendJson(res, 200, customerJson(ctx, await existing(ctx, customerId)));
}

/**
 * `PUT /v1/customers/{id}` `{ name?, email?, time_zone? }` -> 200 customer. Absent fields keep their value;
 * `time_zone: null` removes the customer's own zone. A `customer_id` field, if sent, must be the path's.
 */
export async function updateCustomer(ctx: ApiContext, customerId: string, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  const body = await readJsonObject(req, ctx.maxBodyBytes);
  onlyFields(body, ['customer_id', 'name', 'email', 'time_zone']);
  if (body.customer_id !== undefined && body.customer_id !== customerId) {
    throw invalidField('customer_id', `customer_id in the body must be the one in the path ('${customerId}'); a customer id cannot change`, body.customer_id);
  }
  const name = stringField(body, 'name');
  const email = stringField(body, 'email');
  const zone = body.time_zone === null ? null : stringField(body, 'time_zone');
  const current = await existing(ctx, customerId);
  const timeZone = zone === null ? undefined : (zone ?? current.timeZone);
  const updated = await ctx.customers.update({
    id: customerId,
    name: name ?? current.name,
    email: email ?? current.email,
    ...(timeZone !== undefined ? { timeZone } : {}),
  });
  sendJson(res, 200, customerJson(ctx, updated));
}

/** `POST /v1/customers/{id}/tokens` -> 201 `{ token_id, token, created_at }`; the token is shown this once. */
export async function issueToken(ctx: ApiContext, customerId: string, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  await discardBody(req, ctx.maxBodyBytes);
  const issued = await ctx.customers.issueToken(customerId);
  sendJson(res, 201, { token_id: issued.tokenId, token: issued.token, created_at: new Date(issued.createdAt).toISOString() });
}

/** `DELETE /v1/customers/{id}/tokens/{token_id}` -> 204; the token stops working at once. */
export async function revokeToken(ctx: ApiContext, customerId: string, tokenId: string, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  await discardBody(req, ctx.maxBodyBytes);
  if (!(await ctx.customers.revokeToken(customerId, tokenId))) {
    throw new TollstreamError('NOT_FOUND', `customer '${customerId}' has no token '${tokenId}'; it may already be revoked`, { context: { customerId, tokenId } });
  }
  sendJson(res, 204, undefined);
}

async function existing(ctx: ApiContext, customerId: string): Promise<Customer> {
  const customer = await ctx.customers.get(customerId);
  if (!customer) throw new TollstreamError('NOT_FOUND', `customer '${customerId}' does not exist; create it with POST /v1/customers`, { context: { customerId } });
  return customer;
}
