/**
 * Alert emails can be stopped without signing in: each one carries a link (`List-Unsubscribe`, RFC 8058) to
 * `/v1/email/unsubscribe?customer=<id>&sig=<HMAC>`, signed with a key of the server's, so only the customer the
 * mail went to can be opted out with it and no link can be made up for another customer.
 *
 * `GET` shows a page with one button (mail scanners open links: a GET changes nothing); `POST` (the button, or
 * a mail client's one-click `List-Unsubscribe=One-Click`) stops the emails. The customer turns them back on in
 * the app (`PUT /v1/me/email-alerts`).
 */
import crypto from 'node:crypto';
import { TollstreamError } from '../../../core/errors.ts';
import { onlyParams, send } from '../../../gateway/index.ts';
import type { ApiContext } from './context.ts';
import { discardBody, type IncomingRequest, type OutgoingResponse } from './io.ts';

export const UNSUBSCRIBE_PATH = '/v1/email/unsubscribe';

export interface UnsubscribeLinks {
  /** The link for `customerId`'s emails. */
  url(customerId: string): string;
  /** True when `signature` is the one `url` puts in the link of `customerId`. */
  verify(customerId: string, signature: string): boolean;
}

/**
 * Links signed with a key derived from `secret` (the server's own, shared by the nodes of a cluster, so any node
 * honours them) under `baseUrl()`, the address customers reach the server at.
 */
export function unsubscribeLinks(secret: Buffer, baseUrl: () => string): UnsubscribeLinks {
  const key = crypto.createHmac('sha256', secret).update('tollstream email unsubscribe links').digest();
  const sign = (customerId: string) => crypto.createHmac('sha256', key).update(customerId).digest('base64url');
  return {
    url: (customerId) => `${baseUrl().replace(/\/+$/, '')}${UNSUBSCRIBE_PATH}?${new URLSearchParams({ customer: customerId, sig: sign(customerId) })}`,
    verify: (customerId, signature) => {
      const expected = Buffer.from(sign(customerId));
      const given = Buffer.from(signature);
      return given.length === expected.length && crypto.timingSafeEqual(given, expected);
    },
  };
}

/** `GET` and `POST /v1/email/unsubscribe?customer=&sig=`: the confirmation page, and the opt-out. */
export async function unsubscribe(ctx: ApiContext, links: UnsubscribeLinks | undefined, query: URLSearchParams, req: IncomingRequest, res: OutgoingResponse): Promise<void> {
  onlyParams(query, ['customer', 'sig']);
  const customerId = query.get('customer') ?? '';
  const signature = query.get('sig') ?? '';
  if (!links) throw new TollstreamError('NOT_FOUND', 'alert emails are off on this server (alerts.email.enabled), so there is nothing to unsubscribe from');
  if (!links.verify(customerId, signature)) {
    throw new TollstreamError('FORBIDDEN', 'this unsubscribe link is not valid (altered or cut short): use the whole link from the email', { context: { field: 'sig' } });
  }
  const customer = await ctx.customers.get(customerId);
  if (!customer) throw new TollstreamError('NOT_FOUND', 'the customer of this link no longer exists', { context: { customerId } });
  if (req.method === 'POST') {
    await discardBody(req, ctx.maxBodyBytes);
    await ctx.customers.setEmailAlerts(customerId, false);
    ctx.logger.info('alert emails stopped by the link in an email', { customerId });
    return page(res, 'Alert emails stopped', `<p>${escape(customer.email)} will get no more alert emails from us.</p><p>Your alerts still show in the app, where you can turn emails back on.</p>`);
  }
  const form = `<form method="post"><button type="submit">Stop alert emails</button></form>`;
  return customer.emailAlerts
    ? page(res, 'Stop alert emails?', `<p>Stop the spending alert emails to ${escape(customer.email)}?</p>${form}<p>Your alerts still show in the app.</p>`)
    : page(res, 'Alert emails are off', `<p>${escape(customer.email)} gets no alert emails. Turn them back on in the app.</p>`);
}

function page(res: OutgoingResponse, title: string, body: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;
  send(res, 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; form-action 'self'", 'referrer-policy': 'no-referrer' }, html);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
