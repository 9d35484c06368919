/**
 * The argument rules of notifications, whatever keeps them (SQLite or PostgreSQL): each call is checked here
 * before it reaches a database, so both backends accept and refuse the same things with the same errors.
 */
import { TollstreamError } from '../core/errors.ts';
import { assertJsonObject, type JsonObject } from '../tables/index.ts';
import { mailAddress } from './smtp.ts';
import type { EmailOptions, ListInboxOptions, PublishOptions, RetryPolicy, SubscriptionProtocol, SubscriptionSpec, TopicDescription, TopicKind } from './types.ts';
import { assertWebhookSecret } from './webhook.ts';
import { assertPushTarget } from './webpush.ts';

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 300_000, timeoutMs: 10_000 };
/**
 * The ranges of the retry settings an operator may set (`notify.retry.*` in the server's config, whose schema reads
 * them from here): up to 100 attempts, and a first backoff ceiling of at most the default cap of 5 minutes.
 */
export const RETRY_LIMITS = {
  maxAttempts: { min: 1, max: 100 },
  baseDelayMs: { min: 1, max: DEFAULT_RETRY.maxDelayMs },
} as const satisfies Partial<Record<keyof RetryPolicy, { readonly min: number; readonly max: number }>>;
/** SNS's limit; a notification is a short message, not a document. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
const TOPIC_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;
const FIELD_NAME = /^[A-Za-z0-9_]{1,128}$/;

/** A subscription as it is stored: `url` is the webhook URL, the push endpoint or the email address; `secret` the webhook secret or the push keys. */
export interface SubscriptionValues {
  readonly protocol: SubscriptionProtocol;
  readonly customerId: string | null;
  readonly url: string | null;
  readonly secret: string | null;
}

export function checkTopic(name: unknown, options: { readonly kind?: TopicKind; readonly customerField?: string }): { kind: TopicKind; customerField: string | undefined } {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name)) {
    throw new TollstreamError('INVALID_ARGUMENT', `topic name '${String(name)}' must be 1-256 characters of A-Z a-z 0-9 _ . -`, { context: { topic: name } });
  }
  const kind: TopicKind = options.kind ?? 'standard';
  if (kind !== 'standard' && kind !== 'inbox') throw new TollstreamError('INVALID_ARGUMENT', "topic kind must be 'standard' or 'inbox'", { context: { topic: name } });
  const customerField = kind === 'inbox' ? (options.customerField ?? 'customer_id') : undefined;
  if (customerField !== undefined && !FIELD_NAME.test(customerField)) {
    throw new TollstreamError('INVALID_ARGUMENT', 'customerField must be a top-level attribute name of letters, digits and _', { context: { topic: name } });
  }
  return { kind, customerField };
}

/** `createTopic` on a name that exists: the existing topic when `ifNotExists` and the same shape, else an error. */
export function existingTopic(existing: TopicDescription, kind: TopicKind, customerField: string | undefined, ifNotExists: boolean | undefined): TopicDescription {
  if (ifNotExists && existing.kind === kind && existing.customerField === customerField) return existing;
  throw new TollstreamError('INVALID_ARGUMENT', `topic '${existing.name}' already exists${ifNotExists ? ` as kind '${existing.kind}'` : '; pass ifNotExists to accept it'}`, {
    context: { topic: existing.name },
  });
}

export function topicNotFound(name: string): TollstreamError {
  return new TollstreamError('NOT_FOUND', `topic '${name}' does not exist; create it with createTopic('${name}')`, { context: { topic: name } });
}

export function checkSubscription(topic: string, spec: SubscriptionSpec, email: EmailOptions | undefined): SubscriptionValues {
  if (spec?.protocol === 'inbox') {
    assertCustomerId(spec.customerId);
    return { protocol: 'inbox', customerId: spec.customerId, url: null, secret: null };
  }
  if (spec?.protocol === 'webhook') {
    assertWebhookUrl(spec.url);
    assertWebhookSecret(spec.secret);
    return { protocol: 'webhook', customerId: null, url: spec.url, secret: spec.secret };
  }
  if (spec?.protocol === 'webpush') {
    assertCustomerId(spec.customerId);
    assertPushTarget(spec);
    return { protocol: 'webpush', customerId: spec.customerId, url: spec.endpoint, secret: JSON.stringify({ p256dh: spec.p256dh, auth: spec.auth }) };
  }
  if (spec?.protocol === 'email') {
    if (spec.address !== undefined && mailAddress(spec.address) !== spec.address) {
      throw new TollstreamError('INVALID_ARGUMENT', `email subscription address '${String(spec.address)}' must be a plain address such as alerts@example.com`, { context: { topic } });
    }
    if (spec.address === undefined && !email?.addressOf) {
      throw new TollstreamError('INVALID_ARGUMENT', 'an email subscription without an address needs email.addressOf, which finds the address of each customer', { context: { topic } });
    }
    return { protocol: 'email', customerId: null, url: spec.address ?? null, secret: null };
  }
  throw new TollstreamError('INVALID_ARGUMENT', "subscription protocol must be 'inbox', 'webhook', 'webpush' or 'email'", { context: { topic } });
}

export function subscriptionNotFound(id: number): TollstreamError {
  return new TollstreamError('NOT_FOUND', `subscription ${id} does not exist`, { context: { subscriptionId: id } });
}

export function deadLetterNotFound(id: number): TollstreamError {
  return new TollstreamError('NOT_FOUND', `dead letter ${id} does not exist`, { context: { deadLetterId: id } });
}

/** The options of `listInbox` with the limit checked and defaulted. */
export function checkListInbox(customerId: unknown, options: ListInboxOptions): ListInboxOptions & { limit: number } {
  assertCustomerId(customerId);
  const limit = options.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new TollstreamError('INVALID_ARGUMENT', 'limit must be an integer from 1 to 500', { context: { limit } });
  }
  return { ...options, limit };
}

export function checkReadIds(customerId: unknown, ids: unknown): asserts ids is readonly number[] {
  assertCustomerId(customerId);
  if (!Array.isArray(ids) || ids.length > 1000 || ids.some((id) => !Number.isSafeInteger(id))) {
    throw new TollstreamError('INVALID_ARGUMENT', 'ids must be an array of at most 1000 inbox entry ids');
  }
}

export function checkPruneBefore(options: { readonly before: number } | undefined): number {
  const before = options?.before;
  if (!Number.isSafeInteger(before)) throw new TollstreamError('INVALID_ARGUMENT', 'prune needs before: a time in ms since the epoch');
  return before as number;
}

export function checkDeadLetterLimit(limit: number | undefined): number {
  const checked = limit ?? 100;
  if (!Number.isInteger(checked) || checked < 1 || checked > 1000) {
    throw new TollstreamError('INVALID_ARGUMENT', 'limit must be an integer from 1 to 1000', { context: { limit: checked } });
  }
  return checked;
}

/** Checks a message before it enters an outbox; returns its idempotency key and its JSON text. */
export function checkPublish(topic: TopicDescription, message: JsonObject, publishOptions: PublishOptions): { key: string; text: string } {
  const topicName = topic.name;
  const key = publishOptions?.idempotencyKey;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new TollstreamError('INVALID_ARGUMENT', 'idempotencyKey must be 1 to 256 visible ASCII characters (it is sent as the webhook-id header)', {
      context: { topic: topicName },
    });
  }
  assertJsonObject(message, 'message');
  if (topic.kind === 'inbox' && topic.customerField) {
    const customerId = message[topic.customerField];
    if (typeof customerId !== 'string' || customerId === '' || customerId.length > 256) {
      throw new TollstreamError('INVALID_ARGUMENT', `messages of inbox topic '${topicName}' must name the customer (1-256 characters) in '${topic.customerField}'`, {
        context: { topic: topicName, idempotencyKey: key },
      });
    }
  }
  const text = JSON.stringify(message);
  if (text.length * 3 > MAX_MESSAGE_BYTES && Buffer.byteLength(text) > MAX_MESSAGE_BYTES) {
    throw new TollstreamError('PAYLOAD_TOO_LARGE', `the message is ${Buffer.byteLength(text)} bytes as JSON; the limit is ${MAX_MESSAGE_BYTES}`, {
      context: { topic: topicName, idempotencyKey: key },
    });
  }
  return { key, text };
}

export function resolveRetry(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  const retry = { ...DEFAULT_RETRY, ...partial };
  for (const [name, value] of Object.entries(retry)) {
    const limits = (RETRY_LIMITS as Partial<Record<string, { readonly min: number; readonly max: number }>>)[name];
    if (limits === undefined) positiveInteger(value, `retry.${name}`);
    else if (!Number.isSafeInteger(value) || value < limits.min || value > limits.max) {
      throw new TollstreamError('CONFIG_INVALID', `retry.${name} must be an integer from ${limits.min} to ${limits.max}`, { context: { [`retry.${name}`]: value } });
    }
  }
  return retry;
}

export function positiveInteger(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new TollstreamError('CONFIG_INVALID', `${name} must be a positive integer`, { context: { [name]: value } });
  }
  return value as number;
}

export function assertCustomerId(customerId: unknown): asserts customerId is string {
  if (typeof customerId !== 'string' || customerId.length === 0 || customerId.length > 256) {
    throw new TollstreamError('INVALID_ARGUMENT', 'customerId must be a non-empty string of at most 256 characters', {
      context: { customerId },
    });
  }
}

function assertWebhookUrl(url: unknown): asserts url is string {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new TollstreamError('INVALID_ARGUMENT', `webhook url '${String(url)}' must be an absolute http:// or https:// URL`, { context: { url } });
  }
}
