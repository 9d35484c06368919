/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, signed with HMAC-SHA256 and sent base64 as `v1,<sig>`.
 * A secret of the form `whsec_<base64>` is used as its decoded bytes (the spec's form); any other secret
 * as its UTF-8 bytes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TollstreamError } from '../core/errors.ts';

export function secretBytes(secret: string): Buffer {
  if (secret.startsWith('whsec_')) return Buffer.from(secret.slice('whsec_'.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

export function assertWebhookSecret(secret: unknown): asserts secret is string {
  if (typeof secret !== 'string' || secret.length < 8 || secret.length > 1024) {
    throw new TollstreamError('INVALID_ARGUMENT', 'webhook secret must be a string of 8 to 1024 characters (whsec_<base64> or plain text)');
  }
  if (secret.startsWith('whsec_') && !/^[A-Za-z0-9+/]+={0,2}$/.test(secret.slice(6))) {
    throw new TollstreamError('INVALID_ARGUMENT', 'a whsec_ webhook secret must continue with base64');
  }
}

/** The `webhook-signature` header value for one attempt. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretBytes(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export interface VerifyOptions {
  /** Reject timestamps further than this from now, in seconds (replay protection). @default 300 */
  readonly toleranceSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** For receivers (and tests): true when one of the `webhook-signature` entries matches and the timestamp is fresh. */
export function verifyWebhook(
  secret: string,
  headers: { readonly id: string; readonly timestamp: string; readonly signature: string },
  body: string,
  options: VerifyOptions = {},
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts)) return false;
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  if (Math.abs(nowSeconds - ts) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, headers.id, ts, body));
  return headers.signature.split(' ').some((candidate) => {
    const got = Buffer.from(candidate);
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(cap, base * 2^(failures-1))).
 * Spreads retries of many failing deliveries instead of synchronizing them.
 */
export function backoffDelayMs(failures: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - 1, 30));
  return Math.floor(random() * ceiling);
}
